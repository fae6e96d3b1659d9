package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"
)

const (
	objectsDir = "objects"
	tmpDir     = "tmp"
	dirPerm    = 0o700
	filePerm   = 0o600
	// staleTemp is how old a file in tmp/ must be before OpenDir removes it.
	// A Put touches its file on every write, so only abandoned ones get old.
	staleTemp = time.Hour
	// attempts bounds the retries of a step that races with a Purge or
	// DeleteVersion removing a directory that had just become empty.
	attempts     = 5
	markerExt    = "del"
	versionLen   = 19 + 1 + 8
	sha256HexLen = 2 * sha256.Size
)

// Dir is a Store in a local directory; the package doc describes its layout.
// It is safe for use by many goroutines. Two processes may share a root, but
// the order of their versions of one key then rests on their clocks agreeing.
type Dir struct {
	root *os.Root
	// last is the Unix nanosecond time of the last version id handed out,
	// so that ids from this Dir strictly increase even if the clock stalls
	// or steps back.
	last atomic.Int64
}

var _ Store = (*Dir)(nil)

// OpenDir opens the object directory at root, creating it (mode 0700) and
// its layout if missing, and removes abandoned temporary files. Close the Dir
// when done. An existing root keeps its mode.
func OpenDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", root, err)
	}
	d := &Dir{root: r}
	if err := d.init(); err != nil {
		r.Close()
		return nil, fmt.Errorf("blob: open %s: %w", root, err)
	}
	return d, nil
}

func (d *Dir) init() error {
	created := false
	for _, name := range []string{objectsDir, tmpDir} {
		err := d.root.Mkdir(name, dirPerm)
		switch {
		case err == nil:
			created = true
		case !errors.Is(err, fs.ErrExist):
			return err
		}
		fi, err := d.root.Lstat(name)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", name)
		}
	}
	if created {
		if err := d.syncDir("."); err != nil {
			return err
		}
	}
	return d.sweepTemp(time.Now())
}

// Close releases the directory. The Dir must not be used afterwards.
func (d *Dir) Close() error {
	if err := d.root.Close(); err != nil {
		return fmt.Errorf("blob: close: %w", err)
	}
	return nil
}

// Put implements Store.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (Info, error) {
	if err := check(ctx, "put", key); err != nil {
		return Info{}, err
	}
	info, err := d.put(ctx, key, r)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	return info, nil
}

func (d *Dir) put(ctx context.Context, key string, r io.Reader) (Info, error) {
	tmp, f, err := d.createTemp()
	if err != nil {
		return Info{}, err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			d.root.Remove(tmp)
		}
	}()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, err
	}
	if err := f.Close(); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	dir := keyDir(key)
	sum := hex.EncodeToString(h.Sum(nil))
	for attempt := 1; ; attempt++ {
		var created []string
		err = d.mkdirs(dir, &created)
		if err == nil {
			version, nanos := d.nextVersion()
			err = d.root.Rename(tmp, dir+"/"+dataName(version, size, sum))
			if err == nil {
				committed = true
				info := entry{version: version, nanos: nanos, size: size, sha: sum}.info(key)
				return info, d.syncCreated(dir, created)
			}
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == attempts {
			return Info{}, err
		}
		// A Purge or DeleteVersion removed a directory on the way that had
		// just become empty: make it again.
	}
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, Info{}, err
	}
	for attempt := 1; ; attempt++ {
		versions, err := d.versions(key)
		if err != nil {
			return nil, Info{}, fmt.Errorf("blob: get %q: %w", key, err)
		}
		if len(versions) == 0 || versions[0].marker {
			return nil, Info{}, fmt.Errorf("blob: get %q: %w", key, ErrNotFound)
		}
		e := versions[0]
		f, err := d.root.Open(keyDir(key) + "/" + e.name)
		if err == nil {
			return f, e.info(key), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, Info{}, fmt.Errorf("blob: get %q: %w", key, err)
		}
		if attempt == attempts {
			return nil, Info{}, fmt.Errorf("blob: get %q: %w", key, ErrNotFound)
		}
		// DeleteVersion or Purge removed it after we listed it: look again.
	}
}

// GetVersion implements Store.
func (d *Dir) GetVersion(ctx context.Context, key, version string) (io.ReadCloser, Info, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, Info{}, err
	}
	e, err := d.findVersion(key, version)
	if err == nil && e.marker {
		err = ErrNotFound
	}
	var f *os.File
	if err == nil {
		f, err = d.root.Open(keyDir(key) + "/" + e.name)
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrNotFound
		}
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %q version %q: %w", key, version, err)
	}
	return f, e.info(key), nil
}

// Stat implements Store.
func (d *Dir) Stat(ctx context.Context, key string) (Info, error) {
	if err := check(ctx, "stat", key); err != nil {
		return Info{}, err
	}
	versions, err := d.versions(key)
	if err == nil && (len(versions) == 0 || versions[0].marker) {
		err = ErrNotFound
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %q: %w", key, err)
	}
	return versions[0].info(key), nil
}

// List implements Store.
func (d *Dir) List(ctx context.Context, prefix string, fn func(Info) error) error {
	return d.walk(ctx, "list", prefix, func(key string, versions []entry) error {
		if versions[0].marker {
			return nil
		}
		return fn(versions[0].info(key))
	})
}

// ListVersions implements Store.
func (d *Dir) ListVersions(ctx context.Context, prefix string, fn func(Info) error) error {
	return d.walk(ctx, "list versions", prefix, func(key string, versions []entry) error {
		for _, e := range versions {
			if err := fn(e.info(key)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Versions implements Store.
func (d *Dir) Versions(ctx context.Context, key string) ([]Info, error) {
	if err := check(ctx, "versions", key); err != nil {
		return nil, err
	}
	versions, err := d.versions(key)
	if err == nil && len(versions) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: versions %q: %w", key, err)
	}
	infos := make([]Info, len(versions))
	for i, e := range versions {
		infos[i] = e.info(key)
	}
	return infos, nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	if err := d.delete(key); err != nil {
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	return nil
}

func (d *Dir) delete(key string) error {
	versions, err := d.versions(key)
	if err != nil || len(versions) == 0 || versions[0].marker {
		return err
	}
	dir := keyDir(key)
	version, _ := d.nextVersion()
	f, err := d.root.OpenFile(dir+"/"+version+"."+markerExt, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // purged meanwhile: nothing left to hide
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return d.syncDir(dir)
}

// DeleteVersion implements Store.
func (d *Dir) DeleteVersion(ctx context.Context, key, version string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	if err := d.deleteVersion(key, version); err != nil {
		return fmt.Errorf("blob: delete %q version %q: %w", key, version, err)
	}
	return nil
}

func (d *Dir) deleteVersion(key, version string) error {
	e, err := d.findVersion(key, version)
	if err != nil {
		return err
	}
	dir := keyDir(key)
	if err := d.root.Remove(dir + "/" + e.name); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return err
	}
	if err := d.syncDir(dir); err != nil {
		return err
	}
	return d.removeEmptyDirs(dir)
}

// Purge implements Store.
func (d *Dir) Purge(ctx context.Context, key string) (int, error) {
	if err := check(ctx, "purge", key); err != nil {
		return 0, err
	}
	n, err := d.purge(key)
	if err != nil {
		return n, fmt.Errorf("blob: purge %q: %w", key, err)
	}
	return n, nil
}

func (d *Dir) purge(key string) (int, error) {
	versions, err := d.versions(key)
	if err != nil || len(versions) == 0 {
		return 0, err
	}
	dir := keyDir(key)
	n := 0
	for _, e := range versions {
		err := d.root.Remove(dir + "/" + e.name)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist):
			return n, err
		}
	}
	if err := d.syncDir(dir); err != nil {
		return n, err
	}
	return n, d.removeEmptyDirs(dir)
}

// Usage implements Store.
func (d *Dir) Usage(ctx context.Context, prefix string) (Usage, error) {
	var u Usage
	err := d.walk(ctx, "usage", prefix, func(_ string, versions []entry) error {
		if !versions[0].marker {
			u.Objects++
			u.Bytes += versions[0].size
		}
		for _, e := range versions {
			if e.marker {
				u.DeleteMarkers++
				continue
			}
			u.Versions++
			u.StoredBytes += e.size
		}
		return nil
	})
	if err != nil {
		return Usage{}, err
	}
	return u, nil
}

// check refuses an invalid key and a done context.
func check(ctx context.Context, op, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: %s %q: %w", op, key, err)
	}
	return nil
}

// ctxReader stops reading once ctx is done, so a cancelled Put stops
// between two reads of a long stream.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
