package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/outbox"
	"github.com/leadcap/leadcap/internal/store"
)

const objectsUsage = `objects list|du|get|restore|purge [KEY|PREFIX] [flags]

  list [PREFIX]                  the objects under PREFIX: key, size and time of the latest version
       --versions                every version and delete marker instead, newest first within a key
                                 (deleted objects too)
  du [PREFIX]                    objects, versions, delete markers and bytes per prefix one level
                                 below PREFIX (raw/, exports/, qr/, backups/ without one)
  get KEY [--version V] [-o FILE] [--decrypt]
                                 write the latest version of KEY, or version V, as stored; --decrypt
                                 opens a raw/ or exports/ object with the key ring (audited)
  restore KEY --version V        make version V the latest again: a new version with its bytes, so
                                 every version and delete marker after it stays (audited)
  purge KEY                      remove every version and delete marker of KEY for good (audited);
                                 a person's leads and raw copies go with leadcap leads erase

  A PREFIX is a plain string prefix: raw/2027/03/ lists March 2027, raw/2027/0 the first nine months.`

// Audit actions of the object commands.
const (
	auditObjectRestore = "object.restore"
	auditObjectDecrypt = "object.decrypt"
	auditObjectPurge   = "object.purge"
)

func runObjects(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "objects", objectsUsage)
	c := addCommon(fs)
	versions := fs.Bool("versions", false, "every version and delete marker (list)")
	version := fs.String("version", "", "version id, as list --versions shows it (get, restore)")
	var out string
	fs.StringVar(&out, "o", "-", "file to write, or - for standard output (get)")
	fs.StringVar(&out, "out", "-", "same as -o")
	decrypt := fs.Bool("decrypt", false, "open a raw/ or exports/ object with the key ring (get)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb, rest := pos[0], pos[1:]
	arg := "" // the prefix of list and du, the key of get and restore
	if len(rest) > 0 {
		arg = rest[0]
	}
	switch verb {
	case "list", "du":
		if len(rest) > 1 {
			return fmt.Errorf("objects %s: unexpected argument %q", verb, rest[1])
		}
		if err := validPrefix(arg); err != nil {
			return fmt.Errorf("objects %s: %w", verb, err)
		}
	case "get", "restore", "purge":
		if len(rest) != 1 {
			return fmt.Errorf("objects %s: want one object key", verb)
		}
		if err := blob.ValidateKey(arg); err != nil {
			return fmt.Errorf("objects %s: %w", verb, err)
		}
		if verb == "restore" && *version == "" {
			return fmt.Errorf("objects restore: --version is required (leadcap objects list --versions %s shows them)", arg)
		}
	default:
		return fmt.Errorf("objects: unknown verb %q (want list, du, get, restore or purge)", verb)
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err
	}
	defer objects.Close()
	switch verb {
	case "list":
		return listObjects(ctx, env, c.json, objects, arg, *versions)
	case "du":
		return objectUsage(ctx, env, c.json, objects, arg)
	case "get":
		return getObject(ctx, env, c.json, cfg, objects, arg, *version, out, *decrypt)
	case "purge":
		return purgeObject(ctx, env, c.json, cfg, objects, arg)
	}
	return restoreObject(ctx, env, c.json, cfg, objects, arg, *version)
}

// validPrefix refuses a prefix that no valid key can start with because
// of what it holds so far, with ValidateKey's message.
func validPrefix(prefix string) error {
	if p := strings.TrimSuffix(prefix, "/"); p != "" {
		return blob.ValidateKey(p)
	}
	return nil
}

// objectVersion is how the object commands show a version in JSON.
type objectVersion struct {
	Key          string    `json:"key"`
	Version      string    `json:"version"`
	Size         int64     `json:"size"`
	Modified     time.Time `json:"modified"`
	SHA256       string    `json:"sha256,omitempty"`
	DeleteMarker bool      `json:"delete_marker,omitempty"`
	Latest       bool      `json:"latest"`
}

func listObjects(ctx context.Context, env *Env, asJSON bool, objects blob.Store, prefix string, versions bool) error {
	list := objects.List
	if versions {
		list = objects.ListVersions
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	var enc *json.Encoder
	if asJSON {
		enc = json.NewEncoder(env.Stdout)
		io.WriteString(env.Stdout, "[")
	} else if versions {
		fmt.Fprintln(tw, "KEY\tVERSION\tSIZE\tMODIFIED\tSTATE")
	} else {
		fmt.Fprintln(tw, "KEY\tSIZE\tMODIFIED")
	}
	var n, keys, markers int64
	last := ""
	err := list(ctx, prefix, func(i blob.Info) error {
		latest := i.Key != last
		if latest {
			keys++
			last = i.Key
		}
		if i.DeleteMarker {
			markers++
		}
		n++
		if asJSON {
			if n > 1 {
				io.WriteString(env.Stdout, ",")
			}
			return enc.Encode(objectVersion{i.Key, i.Version, i.Size, i.ModTime.UTC(), i.SHA256, i.DeleteMarker, latest})
		}
		if versions {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", i.Key, i.Version, i.Size, when(i.ModTime), versionState(i, latest))
		} else {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", i.Key, i.Size, when(i.ModTime))
		}
		// Rows go out as they come, a screenful at a time, so a listing
		// of a million keys neither waits nor piles up in memory.
		if n%500 == 0 {
			return tw.Flush()
		}
		return nil
	})
	if asJSON {
		io.WriteString(env.Stdout, "]\n")
		return err
	}
	tw.Flush()
	if err != nil {
		return err
	}
	if versions {
		fmt.Fprintf(env.Stdout, "%d versions and %d delete markers of %d %s\n", n-markers, markers, keys, plural(int(keys), "key", "keys"))
	} else {
		fmt.Fprintf(env.Stdout, "%d objects\n", n)
	}
	return nil
}

func versionState(i blob.Info, latest bool) string {
	switch {
	case i.DeleteMarker && latest:
		return "delete marker (deleted)"
	case i.DeleteMarker:
		return "delete marker"
	case latest:
		return "latest"
	}
	return "-"
}

// prefixUsage is what one prefix holds: Objects and Bytes count the live
// latest versions, Versions and StoredBytes every stored version.
type prefixUsage struct {
	Prefix        string `json:"prefix"`
	Objects       int64  `json:"objects"`
	Bytes         int64  `json:"bytes"`
	Versions      int64  `json:"versions"`
	StoredBytes   int64  `json:"stored_bytes"`
	DeleteMarkers int64  `json:"delete_markers"`
}

func (u *prefixUsage) add(i blob.Info, latest bool) {
	if latest && !i.DeleteMarker {
		u.Objects++
		u.Bytes += i.Size
	}
	if i.DeleteMarker {
		u.DeleteMarkers++
		return
	}
	u.Versions++
	u.StoredBytes += i.Size
}

// usageGroup is the prefix one level below prefix that key falls in: for
// prefix "raw/" and key "raw/2027/03/01/c/l.json", "raw/2027/".
func usageGroup(prefix, key string) string {
	if i := strings.IndexByte(key[len(prefix):], '/'); i >= 0 {
		return key[:len(prefix)+i+1]
	}
	return key
}

func objectUsage(ctx context.Context, env *Env, asJSON bool, objects blob.Store, prefix string) error {
	groups := map[string]*prefixUsage{}
	if prefix == "" {
		// leadcap's top-level prefixes show even while empty.
		for _, p := range []string{"backups/", "exports/", "qr/", "raw/"} {
			groups[p] = &prefixUsage{Prefix: p}
		}
	}
	total := prefixUsage{Prefix: "total"}
	bar := newProgressBar(env.Stderr, "versions")
	last := ""
	var seen int64
	err := objects.ListVersions(ctx, prefix, func(i blob.Info) error {
		latest := i.Key != last
		last = i.Key
		g := usageGroup(prefix, i.Key)
		if groups[g] == nil {
			groups[g] = &prefixUsage{Prefix: g}
		}
		groups[g].add(i, latest)
		total.add(i, latest)
		seen++
		bar.count(seen, fmtBytes(total.StoredBytes)+" read")
		return nil
	})
	bar.done()
	if err != nil {
		return err
	}
	rows := make([]prefixUsage, 0, len(groups)+1)
	for _, g := range groups {
		rows = append(rows, *g)
	}
	slices.SortFunc(rows, func(a, b prefixUsage) int { return strings.Compare(a.Prefix, b.Prefix) })
	rows = append(rows, total)
	if asJSON {
		return printJSON(env.Stdout, rows)
	}
	if prefix == "" {
		prefix = "the object store"
	}
	fmt.Fprintf(env.Stdout, "%s, by prefix:\n", prefix)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tOBJECTS\tSIZE\tVERSIONS\tSTORED\tDELETE MARKERS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%d\n", r.Prefix, r.Objects, fmtBytes(r.Bytes), r.Versions,
			fmtBytes(r.StoredBytes), r.DeleteMarkers)
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d objects (%s) in %d versions (%s stored) and %d delete markers\n",
		total.Objects, fmtBytes(total.Bytes), total.Versions, fmtBytes(total.StoredBytes), total.DeleteMarkers)
	return nil
}

// count draws "done things, detail" for work whose total is not known, at
// most ten times a second, on a terminal only.
func (p *progressBar) count(done int64, detail string) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprintf(p.w, "\r%d %s, %s ", done, p.what, detail)
}

// openVersion opens version (the latest when "") of key, with an error
// that tells the operator where to look when there is none.
func openVersion(ctx context.Context, objects blob.Store, key, version string) (io.ReadCloser, blob.Info, error) {
	var r io.ReadCloser
	var info blob.Info
	var err error
	if version == "" {
		r, info, err = objects.Get(ctx, key)
	} else {
		r, info, err = objects.GetVersion(ctx, key, version)
	}
	if errors.Is(err, blob.ErrNotFound) {
		what := fmt.Sprintf("no object %q (a deleted one has a delete marker on top)", key)
		if version != "" {
			what = fmt.Sprintf("no version %q of %q with content (a delete marker has none)", version, key)
		}
		return nil, blob.Info{}, fmt.Errorf("%s: see leadcap objects list --versions %s", what, key)
	}
	return r, info, err
}

func getObject(ctx context.Context, env *Env, asJSON bool, cfg config.Config, objects blob.Store, key, version, out string, decrypt bool) error {
	kind := ""
	if decrypt {
		for _, k := range []string{"raw/", "exports/"} {
			if strings.HasPrefix(key, k) {
				kind = k
			}
		}
		switch {
		case kind == "" && strings.HasPrefix(key, "backups/"):
			return errors.New("objects get --decrypt: a backup opens with leadcap backup verify and leadcap restore")
		case kind == "":
			return fmt.Errorf("objects get --decrypt: %s is stored in clear; only raw/ and exports/ objects are opened here", key)
		}
	}
	r, info, err := openVersion(ctx, objects, key, version)
	if err != nil {
		return fmt.Errorf("objects get: %w", err)
	}
	defer r.Close()
	var src io.Reader = r
	if decrypt {
		st, err := openMigrated(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		keys, err := loadKeys(cfg)
		if err != nil {
			return err
		}
		if kind == "raw/" {
			src, err = openRaw(r, keys)
		} else {
			src, err = export.OpenObject(r, keys, key)
		}
		if err != nil {
			return fmt.Errorf("objects get %s: %w", key, err)
		}
		// Reading personal data in clear is on the record before it is read.
		if err := st.AppendAudit(ctx, leadcap.AuditEvent{Actor: export.ActorCLI, Action: auditObjectDecrypt,
			Target: "object:" + key, Result: leadcap.AuditSuccess, Detail: map[string]string{"version": info.Version}}); err != nil {
			return err
		}
	}
	w, commit, abort, err := openOut(env, out)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, src)
	if err == nil {
		err = commit()
	}
	if err != nil {
		abort()
		return fmt.Errorf("objects get %s: %w", key, err)
	}
	report := env.Stdout
	if out == "-" {
		report = env.Stderr // stdout holds the object
	}
	if asJSON {
		return printJSON(report, map[string]any{"key": key, "version": info.Version, "bytes": n, "file": out, "decrypted": decrypt})
	}
	what := "as stored"
	if decrypt {
		what = "decrypted"
	}
	fmt.Fprintf(report, "wrote %s version %s to %s: %d bytes, %s\n", key, info.Version, out, n, what)
	return nil
}

// openRaw reads a raw copy as the outbox wrote it and returns it with the
// submission opened: the same document with "submission" in clear text in
// place of "sealed".
func openRaw(r io.Reader, keys store.Sealer) (io.Reader, error) {
	var raw outbox.RawObject
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a raw copy: %w", err)
	}
	plain, err := keys.Open(raw.Sealed, store.SubmissionAD(raw.ConferenceID, raw.SubmissionID))
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(struct {
		ConferenceID string          `json:"conference_id"`
		LeadID       string          `json:"lead_id"`
		SubmissionID string          `json:"submission_id"`
		ReceivedAt   time.Time       `json:"received_at"`
		Submission   json.RawMessage `json:"submission"`
	}{raw.ConferenceID, raw.LeadID, raw.SubmissionID, raw.ReceivedAt, plain}, "", "  ")
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(append(b, '\n')), nil
}

// restoreObject makes a version the latest again by storing its bytes as
// a new version, as S3's copy-object does. Removing the versions and delete
// markers after it (DeleteVersion) would restore it too, but it would
// destroy what they hold: newer content, and the record that the object
// was deleted and when. A copy keeps the whole history and can itself be
// undone the same way.
func restoreObject(ctx context.Context, env *Env, asJSON bool, cfg config.Config, objects blob.Store, key, version string) error {
	versions, err := objects.Versions(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("objects restore: no object %q, not even deleted: see leadcap objects list --versions", key)
	} else if err != nil {
		return err
	}
	i := slices.IndexFunc(versions, func(v blob.Info) bool { return v.Version == version })
	switch {
	case i < 0:
		return fmt.Errorf("objects restore: %q has no version %q: see leadcap objects list --versions %s", key, version, key)
	case versions[i].DeleteMarker:
		return fmt.Errorf("objects restore: version %q of %q is a delete marker, which has no content: restore a version before it", version, key)
	case i == 0:
		fmt.Fprintf(env.Stdout, "version %s is already the latest of %s: nothing to do\n", version, key)
		return nil
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	r, old, err := openVersion(ctx, objects, key, version)
	if err != nil {
		return fmt.Errorf("objects restore: %w", err)
	}
	restored, err := objects.Put(ctx, key, r)
	r.Close()
	if err != nil {
		return fmt.Errorf("objects restore: %w", err)
	}
	if restored.SHA256 != old.SHA256 || restored.Size != old.Size {
		return fmt.Errorf("objects restore: the new version %s of %s holds %d bytes with SHA-256 %s, not the %d bytes with %s of version %s",
			restored.Version, key, restored.Size, restored.SHA256, old.Size, old.SHA256, version)
	}
	if err := st.AppendAudit(ctx, leadcap.AuditEvent{Actor: export.ActorCLI, Action: auditObjectRestore,
		Target: "object:" + key, Result: leadcap.AuditSuccess,
		Detail: map[string]string{"version": version, "new_version": restored.Version, "sha256": restored.SHA256}}); err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"key": key, "restored_version": version, "new_version": restored.Version,
			"size": restored.Size, "sha256": restored.SHA256})
	}
	fmt.Fprintf(env.Stdout, "restored %s: version %s is the latest again, as new version %s (%d bytes, sha256 %s); the %d %s after it %s\n",
		key, version, restored.Version, restored.Size, restored.SHA256, i,
		plural(i, "version or delete marker", "versions and delete markers"), plural(i, "stays", "stay"))
	return nil
}

// purgeObject removes every version and delete marker of a key, as the
// guide's "aws s3 rm" of a raw file did for an erasure.
func purgeObject(ctx context.Context, env *Env, asJSON bool, cfg config.Config, objects blob.Store, key string) error {
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := objects.Purge(ctx, key)
	if err != nil {
		return fmt.Errorf("objects purge: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("objects purge: no object %q, not even deleted: see leadcap objects list --versions", key)
	}
	if err := st.AppendAudit(ctx, leadcap.AuditEvent{Actor: export.ActorCLI, Action: auditObjectPurge,
		Target: "object:" + key, Result: leadcap.AuditSuccess, Detail: map[string]string{"versions": fmt.Sprint(n)}}); err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"key": key, "purged": n})
	}
	fmt.Fprintf(env.Stdout, "purged %s: %d %s\n", key, n, plural(n, "version or delete marker", "versions and delete markers"))
	return nil
}
