// The console works without this script; it only adds conveniences:
// local times, copying the form link, printing the sign, moving questions
// without a round trip, and applying filters as they change.

const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
for (const t of document.querySelectorAll("time[datetime]")) {
  const d = new Date(t.getAttribute("datetime"));
  if (!Number.isNaN(d.getTime())) {
    t.title = t.textContent;
    t.textContent = fmt.format(d);
  }
}

for (const b of document.querySelectorAll("[data-copy]")) {
  if (!navigator.clipboard) continue;
  b.hidden = false;
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(b.dataset.copy);
      b.textContent = "Copied";
    } catch {
      b.textContent = "Copy failed";
    }
  });
}

for (const b of document.querySelectorAll("[data-print]")) {
  b.hidden = false;
  b.addEventListener("click", () => window.print());
}

// Filters stay folded on a phone, unless some are set; a wide screen has
// room to show them.
if (window.matchMedia("(min-width: 721px)").matches) {
  for (const d of document.querySelectorAll("details[data-open-wide]")) d.open = true;
}

for (const f of document.querySelectorAll("form[data-autosubmit]")) {
  for (const s of f.querySelectorAll("select")) {
    s.addEventListener("change", () => f.requestSubmit());
  }
}

// Questions editor: move and remove questions in the page, then number
// their fields again in their new order. Without this script the same
// buttons ask the server to do it.
const list = document.querySelector("[data-question-list]");
if (list) {
  const renumber = () => {
    [...list.querySelectorAll("[data-question]")].forEach((q, i) => {
      for (const el of q.querySelectorAll("[name^='q.']")) {
        el.name = el.name.replace(/^q\.\d+\./, `q.${i}.`);
      }
      for (const el of q.querySelectorAll("[id^='q-']")) {
        el.id = el.id.replace(/^q-\d+-/, `q-${i}-`);
      }
      for (const el of q.querySelectorAll("label[for^='q-']")) {
        el.htmlFor = el.htmlFor.replace(/^q-\d+-/, `q-${i}-`);
      }
      const n = q.querySelector("[data-number]");
      if (n) n.textContent = String(i + 1);
      for (const b of q.querySelectorAll("[data-move]")) {
        b.value = `${b.dataset.move}:${i}`;
      }
    });
  };
  list.addEventListener("click", (e) => {
    const b = e.target.closest("[data-move]");
    if (!b) return;
    e.preventDefault();
    const q = b.closest("[data-question]");
    if (b.dataset.move === "up" && q.previousElementSibling) {
      q.previousElementSibling.before(q);
    } else if (b.dataset.move === "down" && q.nextElementSibling) {
      q.nextElementSibling.after(q);
    } else if (b.dataset.move === "remove") {
      q.remove();
    }
    renumber();
    b.focus();
  });
}
