// Kiosk mode, for a tablet that visitors share: after a submission the
// thank-you screen shows for a moment and then an empty form; a form left
// untouched for a while is emptied, so nothing typed waits for the next
// visitor.
export function kiosk({thanksMs, idleMs, reset}) {
  let timer = 0, thanking = false;
  const arm = ms => {
    clearTimeout(timer);
    timer = setTimeout(() => { thanking = false; reset(); }, ms);
  };
  for (const ev of ['pointerdown', 'keydown', 'input']) {
    addEventListener(ev, () => thanking || arm(idleMs), {capture: true, passive: true});
  }
  return {thanked() { thanking = true; arm(thanksMs); }};
}
