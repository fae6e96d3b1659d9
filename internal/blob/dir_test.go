package blob_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/blob/blobtest"
)

func TestDir(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		d, _ := openDir(t)
		return d
	})
}

// openDir opens a Dir in a new directory and returns it with its root.
func openDir(t testing.TB) (*blob.Dir, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := blob.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, root
}

func TestDirLayout(t *testing.T) {
	d, root := openDir(t)
	a := blobtest.MustPut(t, d, "a", "12345")
	ab := blobtest.MustPut(t, d, "a/b", "")
	if err := d.Delete(t.Context(), "a/b"); err != nil {
		t.Fatal(err)
	}
	marker, err := d.Versions(t.Context(), "a/b")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"objects/a/" + a.Version + ".5." + a.SHA256,
		"objects/a/b/" + ab.Version + ".0." + ab.SHA256,
		"objects/a/b/" + marker[0].Version + ".del",
	}
	if got := files(t, root); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if time.Since(a.ModTime) > time.Minute || a.ModTime.After(ab.ModTime) {
		t.Errorf("ModTime of a = %v, of a/b = %v: want now, in order", a.ModTime, ab.ModTime)
	}
}

func TestDirModes(t *testing.T) {
	d, root := openDir(t)
	blobtest.MustPut(t, d, "raw/2026/11/25/conf-1/lead-1.json", "{}")
	if err := d.Delete(t.Context(), "raw/2026/11/25/conf-1/lead-1.json"); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if de.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDirSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("directory", func(t *testing.T) {
		d, root := openDir(t)
		if err := os.Symlink(outside, filepath.Join(root, "objects", "raw")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Put(t.Context(), "raw/x.json", strings.NewReader("x")); err == nil {
			t.Error("Put through a symlink to outside the root succeeded")
		}
		if _, _, err := d.Get(t.Context(), "raw/secret"); err == nil {
			t.Error("Get through a symlink to outside the root succeeded")
		}
		if _, err := d.Purge(t.Context(), "raw/secret"); err == nil {
			t.Error("Purge through a symlink to outside the root succeeded")
		}
		if err := d.List(t.Context(), "", func(i blob.Info) error {
			t.Errorf("List shows %s", i.Key)
			return nil
		}); err != nil {
			t.Error(err)
		}
		if got := files(t, outside); strings.Join(got, ",") != "secret" {
			t.Errorf("outside the root: %q, want only secret", got)
		}
	})

	t.Run("version", func(t *testing.T) {
		d, root := openDir(t)
		v := blobtest.MustPut(t, d, "k", "inside")
		// A link posing as a newer version, pointing outside.
		newer := "9000000000000000000-00000000.6." + v.SHA256
		if err := os.Symlink(secret, filepath.Join(root, "objects", "k", newer)); err != nil {
			t.Fatal(err)
		}
		if got, _ := blobtest.MustGet(t, d, "k"); got != "inside" {
			t.Errorf("Get = %q, want inside", got)
		}
		if rc, _, err := d.GetVersion(t.Context(), "k", newer[:28]); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("GetVersion of a symlink read %q", b)
		}
	})

	t.Run("root layout", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "blobs")
		if err := os.Mkdir(root, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(root, "objects")); err != nil {
			t.Fatal(err)
		}
		if d, err := blob.OpenDir(root); err == nil {
			d.Close()
			t.Error("OpenDir accepted objects/ as a symlink to outside the root")
		}
	})
}

// TestDirFailedPutLeavesNothing checks that no partial file is left behind,
// not even in tmp/.
func TestDirFailedPutLeavesNothing(t *testing.T) {
	d, root := openDir(t)
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(strings.Repeat("x", 100_000)), failing{boom})
	if _, err := d.Put(t.Context(), "raw/2026/11/25/c/l.json", r); !errors.Is(err, boom) {
		t.Fatalf("Put error = %v, want boom", err)
	}
	if got := files(t, root); len(got) != 0 {
		t.Errorf("files after a failed Put: %q", got)
	}
}

// TestDirListReadsNamesOnly checks that List reports what the file name
// records, without opening the version file.
func TestDirListReadsNamesOnly(t *testing.T) {
	d, root := openDir(t)
	v := blobtest.MustPut(t, d, "raw/a.json", "12345")
	if err := os.Truncate(filepath.Join(root, "objects", "raw", "a.json", v.Version+".5."+v.SHA256), 0); err != nil {
		t.Fatal(err)
	}
	var got []blob.Info
	if err := d.List(t.Context(), "", func(i blob.Info) error {
		got = append(got, i)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Size != 5 || got[0].SHA256 != v.SHA256 {
		t.Errorf("List = %+v, want size 5 from the file name", got)
	}
}

func TestDirSweepsStaleTemp(t *testing.T) {
	d, root := openDir(t)
	d.Close()
	stale := filepath.Join(root, "tmp", "0000000000000001.tmp")
	fresh := filepath.Join(root, "tmp", "0000000000000002.tmp")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	d, err := blob.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := files(t, filepath.Join(root, "tmp")); strings.Join(got, ",") != filepath.Base(fresh) {
		t.Errorf("tmp/ after OpenDir = %q, want only the fresh file", got)
	}
}

// TestDirVersionNamedSegment checks keys whose last segment looks like a
// version file of a shorter key: they may fail, but never touch that key.
func TestDirVersionNamedSegment(t *testing.T) {
	d, root := openDir(t)
	ctx := t.Context()
	blobtest.MustPut(t, d, "k", "content")
	if err := d.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	before := files(t, root)
	for _, f := range before {
		key := "k/" + filepath.Base(f)
		if _, err := d.Put(ctx, key, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
		if _, _, err := d.Get(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
		}
		if n, err := d.Purge(ctx, key); n != 0 || err != nil {
			t.Errorf("Purge(%q) = %d, %v; want 0, nil", key, n, err)
		}
		if err := d.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	if after := files(t, root); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("files changed from %q to %q", before, after)
	}
}

func TestDirReopen(t *testing.T) {
	d, root := openDir(t)
	v1 := blobtest.MustPut(t, d, "qr/conf-1.png", "one")
	d.Close()
	d, err := blob.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v2 := blobtest.MustPut(t, d, "qr/conf-1.png", "two")
	versions, err := d.Versions(t.Context(), "qr/conf-1.png")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].Version != v2.Version || versions[1].Version != v1.Version {
		t.Errorf("Versions after reopening = %+v, want %s then %s", versions, v2.Version, v1.Version)
	}
}

func TestValidateKeyMessage(t *testing.T) {
	err := blob.ValidateKey("a//b")
	if want := `blob: invalid key "a//b": empty segment`; err == nil || err.Error() != want {
		t.Errorf("ValidateKey error = %v, want %s", err, want)
	}
	_, _, err = openDirStore(t).Get(t.Context(), "raw/missing.json")
	if want := `blob: get "raw/missing.json": not found`; err == nil || err.Error() != want {
		t.Errorf("Get error = %v, want %s", err, want)
	}
}

func openDirStore(t testing.TB) blob.Store {
	d, _ := openDir(t)
	return d
}

func BenchmarkDirPut(b *testing.B) {
	d, _ := openDir(b)
	content := strings.Repeat("x", 1024)
	b.SetBytes(int64(len(content)))
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("raw/2026/11/25/conf-%d/lead-%d.json", i%10, i)
		if _, err := d.Put(b.Context(), key, strings.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirPutSameKey(b *testing.B) {
	d, _ := openDir(b)
	content := strings.Repeat("x", 1024)
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		if _, err := d.Put(b.Context(), "qr/conf-1.png", strings.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirPutParallel(b *testing.B) {
	d, _ := openDir(b)
	content := strings.Repeat("x", 1024)
	b.SetBytes(int64(len(content)))
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			key := fmt.Sprintf("raw/2026/11/25/conf-1/lead-%p-%d.json", pb, i)
			if _, err := d.Put(b.Context(), key, strings.NewReader(content)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkDirList(b *testing.B) {
	d, _ := openDir(b)
	const n = 2000
	for i := range n {
		blobtest.MustPut(b, d, fmt.Sprintf("raw/2026/11/25/conf-%d/lead-%d.json", i%10, i), "{}")
	}
	for b.Loop() {
		count := 0
		if err := d.List(b.Context(), "raw/2026/11/", func(blob.Info) error {
			count++
			return nil
		}); err != nil || count != n {
			b.Fatalf("List = %d keys, %v", count, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}

// files lists the regular files and symlinks under dir, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
