package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// keyDir is the directory of key relative to the root; "" names objects/.
func keyDir(key string) string {
	if key == "" {
		return objectsDir
	}
	return objectsDir + "/" + key
}

// nextVersion returns a new version id and the Unix nanosecond time in it.
func (d *Dir) nextVersion() (string, int64) {
	for {
		last := d.last.Load()
		now := time.Now().UnixNano()
		if now <= last {
			now = last + 1
		}
		if d.last.CompareAndSwap(last, now) {
			return fmt.Sprintf("%019d-%08x", now, rand.Uint32()), now
		}
	}
}

// createTemp creates an empty file in tmp/ that no one else uses.
func (d *Dir) createTemp() (string, *os.File, error) {
	for {
		name := fmt.Sprintf("%s/%016x.tmp", tmpDir, rand.Uint64())
		f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if !errors.Is(err, fs.ErrExist) {
			return name, f, err
		}
	}
}

// sweepTemp removes files in tmp/ that were last written before now-staleTemp.
func (d *Dir) sweepTemp(now time.Time) error {
	_, names, err := readDir(d.root, tmpDir)
	if err != nil {
		return err
	}
	for _, e := range names.files {
		name := tmpDir + "/" + e
		fi, err := d.root.Lstat(name)
		if err != nil || !strings.HasSuffix(e, ".tmp") || now.Sub(fi.ModTime()) < staleTemp {
			continue
		}
		if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// mkdirs makes dir and any missing parents below objects/, appending the
// ones it made to created.
func (d *Dir) mkdirs(dir string, created *[]string) error {
	err := d.root.Mkdir(dir, dirPerm)
	if errors.Is(err, fs.ErrNotExist) && dir != objectsDir {
		if err := d.mkdirs(path.Dir(dir), created); err != nil {
			return err
		}
		err = d.root.Mkdir(dir, dirPerm)
	}
	switch {
	case err == nil:
		*created = append(*created, dir)
		return nil
	case errors.Is(err, fs.ErrExist):
		return nil
	}
	return err
}

// syncCreated makes a new version in dir durable: it fsyncs dir and the
// parent of every directory in created.
func (d *Dir) syncCreated(dir string, created []string) error {
	if err := d.syncDir(dir); err != nil {
		return err
	}
	for _, c := range created {
		if err := d.syncDir(path.Dir(c)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs dir. A directory that is gone needs none: whoever removed
// it syncs its parent.
func (d *Dir) syncDir(dir string) error {
	f, err := d.root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeEmptyDirs removes dir and then its parents up to objects/ while they
// are empty directories.
func (d *Dir) removeEmptyDirs(dir string) error {
	removed := ""
	for p := dir; p != objectsDir; p = path.Dir(p) {
		// Only ever a directory: a file here would be a version of a
		// shorter key whose last segment looks like a version file name.
		if fi, err := d.root.Lstat(p); err != nil || !fi.IsDir() {
			break
		}
		if err := d.root.Remove(p); err != nil {
			break // not empty, or already gone
		}
		removed = p
	}
	if removed == "" {
		return nil
	}
	return d.syncDir(path.Dir(removed))
}

// versions lists the versions of key, newest first.
func (d *Dir) versions(key string) ([]entry, error) {
	versions, _, err := readNode(d.root, keyDir(key))
	return versions, err
}

// findVersion finds one version of key, or returns ErrNotFound.
func (d *Dir) findVersion(key, version string) (entry, error) {
	if _, ok := parseVersion(version); !ok {
		return entry{}, ErrNotFound
	}
	versions, err := d.versions(key)
	if err != nil {
		return entry{}, err
	}
	for _, e := range versions {
		if e.version == version {
			return e, nil
		}
	}
	return entry{}, ErrNotFound
}

func readNode(r *os.Root, dir string) ([]entry, []string, error) {
	found, names, err := readDir(r, dir)
	if err != nil || !found {
		return nil, nil, err
	}
	var versions []entry
	for _, name := range names.files {
		if e, ok := parseEntry(name); ok {
			versions = append(versions, e)
		}
	}
	slices.SortFunc(versions, func(a, b entry) int { return strings.Compare(b.version, a.version) })
	return versions, names.dirs, nil
}

// dirNames are the names in a directory: regular files and directories.
// Symbolic links and anything else are left out, so never followed.
type dirNames struct {
	files, dirs []string
}

// readDir reads the names in dir from directory entries alone. found is
// false if dir does not exist or is not a directory.
func readDir(r *os.Root, dir string) (found bool, names dirNames, err error) {
	f, err := r.Open(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, names, nil
	}
	if err != nil {
		return false, names, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if errors.Is(err, syscall.ENOTDIR) {
		return false, names, nil
	}
	if err != nil {
		return false, names, err
	}
	for _, de := range entries {
		switch de.Type() {
		case 0:
			names.files = append(names.files, de.Name())
		case fs.ModeDir:
			names.dirs = append(names.dirs, de.Name())
		}
	}
	return true, names, nil
}

// entry is one version file, known from its name alone.
type entry struct {
	name    string
	version string
	nanos   int64
	size    int64
	sha     string
	marker  bool
}

func (e entry) info(key string) Info {
	return Info{
		Key:          key,
		Version:      e.version,
		Size:         e.size,
		ModTime:      time.Unix(0, e.nanos).UTC(),
		DeleteMarker: e.marker,
		SHA256:       e.sha,
	}
}

func dataName(version string, size int64, sum string) string {
	return version + "." + strconv.FormatInt(size, 10) + "." + sum
}

// parseEntry parses "<version>.<size>.<sha256>" or "<version>.del".
func parseEntry(name string) (entry, bool) {
	version, rest, _ := strings.Cut(name, ".")
	nanos, ok := parseVersion(version)
	if !ok {
		return entry{}, false
	}
	e := entry{name: name, version: version, nanos: nanos}
	if rest == markerExt {
		e.marker = true
		return e, true
	}
	size, sum, _ := strings.Cut(rest, ".")
	if !isDigits(size) || !isLowerHex(sum) || len(sum) != sha256HexLen {
		return entry{}, false
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return entry{}, false
	}
	e.size, e.sha = n, sum
	return e, true
}

// parseVersion parses a version id made by nextVersion and returns its time.
func parseVersion(v string) (int64, bool) {
	if len(v) != versionLen || v[19] != '-' || !isDigits(v[:19]) || !isLowerHex(v[20:]) {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:19], 10, 64)
	return n, err == nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return s != ""
}
