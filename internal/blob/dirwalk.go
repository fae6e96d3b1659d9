package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
)

// walk calls fn with each key that starts with prefix and has at least one
// version or marker, in lexical key order, with its versions newest first.
// An error from fn stops the walk and is returned as it is; other errors are
// wrapped for operation op.
func (d *Dir) walk(ctx context.Context, op, prefix string, fn func(key string, versions []entry) error) error {
	var fnErr error
	err := d.walkPrefix(ctx, prefix, func(key string, versions []entry) error {
		fnErr = fn(key, versions)
		return fnErr
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("blob: %s %q: %w", op, prefix, err)
	}
	return nil
}

func (d *Dir) walkPrefix(ctx context.Context, prefix string, fn func(key string, versions []entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Start in the deepest directory the prefix names whole: for
	// "raw/2026/1" that is raw/2026. If it is not a valid key, no valid key
	// starts with prefix.
	base := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i]
		if ValidateKey(base) != nil {
			return nil
		}
	}
	r, err := d.root.OpenRoot(keyDir(base))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	_, names, err := readDir(r, ".")
	if err != nil {
		return err
	}
	return walkDir(ctx, r, base, names.dirs, prefix, fn)
}

// walkDir walks the subdirectories children of r, which holds key base.
//
// The keys under child c are c itself and those under "c/". These two sort
// apart whenever a sibling starts with c and a byte below '/', as "c-d" or
// "c.d" do, so walkDir sorts c and "c/" as separate items; all keys under
// "c/" sort between "c/" and the next item.
func walkDir(ctx context.Context, r *os.Root, base string, children []string, prefix string, fn func(string, []entry) error) error {
	type item struct {
		sortKey, key, name string
		subtree            bool
	}
	items := make([]item, 0, len(children))
	for _, name := range children {
		key := name
		if base != "" {
			key = base + "/" + name
		}
		if strings.HasPrefix(key, prefix) {
			items = append(items, item{key, key, name, false})
		}
		if sub := key + "/"; strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
			items = append(items, item{sub, key, name, true})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.sortKey, b.sortKey) })

	// Subdirectories read along with a key, kept for its subtree item.
	pending := make(map[string][]string)
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !it.subtree {
			versions, dirs, err := readNode(r, it.name)
			if err != nil {
				return err
			}
			if len(dirs) > 0 {
				pending[it.name] = dirs
			}
			if len(versions) > 0 {
				if err := fn(it.key, versions); err != nil {
					return err
				}
			}
			continue
		}
		dirs, ok := pending[it.name]
		delete(pending, it.name)
		if !ok {
			var err error
			if _, dirs, err = readNode(r, it.name); err != nil {
				return err
			}
		}
		if len(dirs) == 0 {
			continue
		}
		if err := walkSubdir(ctx, r, it.name, it.key, dirs, prefix, fn); err != nil {
			return err
		}
	}
	return nil
}

func walkSubdir(ctx context.Context, r *os.Root, name, key string, dirs []string, prefix string, fn func(string, []entry) error) error {
	sub, err := r.OpenRoot(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed by a Purge meanwhile
	}
	if err != nil {
		return err
	}
	defer sub.Close()
	return walkDir(ctx, sub, key, dirs, prefix, fn)
}

// readNode reads the directory of a key: its versions, newest first, and its
// subdirectories. A missing directory, or a file where a directory should
// be, has neither.
