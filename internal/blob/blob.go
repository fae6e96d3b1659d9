// Package blob is leadcap's versioned object store: the raw copy of every
// lead (raw/YYYY/MM/DD/<conference-id>/<lead-id>.json), exports
// (exports/YYYY/MM/DD/<export-id>.<ext>), QR codes (qr/<conference-id>.png)
// and backups (backups/YYYY-MM-DD/...).
//
// Store is the seam between leadcap and where the bytes live. It has the
// semantics of an S3 bucket with versioning enabled: a Put adds a new version
// and never overwrites, a Delete adds a delete marker that hides the key while
// its older versions stay, DeleteVersion removes one version or marker (which
// is how a deleted object is restored), and Purge removes every trace of a key
// for GDPR erasure. Dir keeps objects in a local directory; an S3-compatible
// backend can implement the same interface. Package blobtest holds the
// conformance suite every backend must pass.
//
// # Keys
//
// A key is a slash-separated path of non-empty UTF-8 segments; ValidateKey
// states the rules. Keys sort by their bytes, and a List prefix is a plain
// string prefix: "raw/2026/1" matches "raw/2026/1/..." and "raw/2026/11/...".
//
// # Versions
//
// Version ids are opaque strings chosen by the backend. Within a key, newer
// versions have ids that sort after older ones, so the latest version is the
// one with the greatest id.
//
// # Dir layout
//
// Dir keeps a key's versions in a directory named by the key, one file per
// version, and the metadata of a version in its file name, so listing reads
// directory entries only, never file contents or inodes:
//
//	<root>/
//	  objects/
//	    raw/2026/11/25/c1/l1.json/                    the directory of key raw/2026/11/25/c1/l1.json
//	      1764072000123456789-9f3a21c4.512.<sha256>   a version: <version>.<size>.<sha256 hex>
//	      1764072100000000000-0b1c2d3e.del            a delete marker: <version>.del
//	  tmp/                                            writes in progress
//
// Regular files in a key's directory are its versions; subdirectories belong
// to longer keys, so key "a" (files in objects/a/) and key "a/b" (files in
// objects/a/b/) coexist. A version id is the creation time in Unix
// nanoseconds, zero-padded to 19 digits, then 8 random hex digits: ids sort
// by time, and one Dir never hands out the same nanosecond twice.
//
// A Put streams into a new file in tmp/ while hashing it, fsyncs it, renames
// it into the key's directory under its final name and fsyncs that directory
// (and the parent of any directory it had to create). A version therefore
// appears whole or not at all, and a crash leaves at worst a file in tmp/,
// which OpenDir removes once it is an hour old. Directories are 0700 and files
// 0600. Every path is opened through an os.Root, so a symbolic link can never
// lead outside the root, and listing does not follow symbolic links at all.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on keys, enforced by ValidateKey.
const (
	// MaxKeyLen is the longest key in bytes, as in S3.
	MaxKeyLen = 1024
	// MaxSegmentLen is the longest segment of a key in bytes: the name
	// length limit of common file systems, so a key maps onto a path.
	MaxSegmentLen = 255
)

// Sentinel errors. Errors returned by this package wrap them, so test with
// errors.Is; the wrapping error says "blob:", the operation and the key.
var (
	// ErrNotFound means the key has no live latest version, or the version
	// asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidKey means a key broke the rules of ValidateKey.
	ErrInvalidKey = errors.New("invalid key")
)

// Store is a versioned object store. Implementations are safe for use by
// many goroutines, and every method returns an error wrapping ErrInvalidKey
// for a key that ValidateKey refuses, and ctx.Err() once ctx is done.
type Store interface {
	// Put stores everything read from r as a new version of key and returns
	// its Info. It never overwrites an earlier version in place. If r fails
	// or ctx is cancelled, no version is created.
	Put(ctx context.Context, key string, r io.Reader) (Info, error)

	// Get opens the latest version of key. It returns ErrNotFound if key has
	// no versions or its latest version is a delete marker. The caller
	// closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)

	// GetVersion opens one version of key. It returns ErrNotFound if there is
	// no such version or the version is a delete marker.
	GetVersion(ctx context.Context, key, version string) (io.ReadCloser, Info, error)

	// Stat returns the Info of the latest version of key, with the same
	// ErrNotFound rule as Get.
	Stat(ctx context.Context, key string) (Info, error)

	// List calls fn with the latest version of each key that starts with
	// prefix, in lexical key order, skipping keys whose latest version is a
	// delete marker. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(Info) error) error

	// ListVersions calls fn with every version and delete marker of each key
	// that starts with prefix: keys in lexical order, each key's versions
	// newest first. It finds deleted keys, which List hides, so an operator
	// can restore them. An error from fn stops the listing and is returned.
	ListVersions(ctx context.Context, prefix string, fn func(Info) error) error

	// Versions returns every version and delete marker of key, newest
	// first. It returns ErrNotFound if key has none at all.
	Versions(ctx context.Context, key string) ([]Info, error)

	// Delete adds a delete marker, so Get, Stat and List no longer see key;
	// older versions stay. Deleting a key with no live latest version does
	// nothing and returns nil.
	Delete(ctx context.Context, key string) error

	// DeleteVersion removes one version or delete marker of key for good.
	// Removing the latest makes the one before it the latest, so removing a
	// delete marker restores the object. It returns ErrNotFound if there is
	// no such version.
	DeleteVersion(ctx context.Context, key, version string) error

	// Purge removes every version and delete marker of key and returns how
	// many it removed; purging an unknown key removes 0 and returns nil. It
	// is the GDPR erasure of an object. A Put that races with Purge may
	// leave its version behind.
	Purge(ctx context.Context, key string) (removed int, err error)

	// Usage sums what is stored under prefix (a plain string prefix, as for List).
	Usage(ctx context.Context, prefix string) (Usage, error)
}

// Info describes one version of an object, or a delete marker.
type Info struct {
	Key     string
	Version string
	// Size is the length of the content in bytes; 0 for a delete marker.
	Size int64
	// ModTime is when the version or marker was created.
	ModTime time.Time
	// DeleteMarker reports that this version is a delete marker, not content.
	DeleteMarker bool
	// SHA256 is the lower-case hex SHA-256 of the content; empty for a
	// delete marker.
	SHA256 string
}

// Usage is what a prefix holds. Objects and Bytes count what List shows;
// Versions and StoredBytes also count noncurrent versions and versions hidden
// by a delete marker, which is what the prefix costs in storage.
type Usage struct {
	// Objects is the number of keys whose latest version is live.
	Objects int64
	// Bytes is the total size of those latest versions.
	Bytes int64
	// Versions is the number of stored versions, delete markers excluded.
	Versions int64
	// StoredBytes is the total size of all stored versions.
	StoredBytes int64
	// DeleteMarkers is the number of delete markers.
	DeleteMarkers int64
}

// ValidateKey reports whether key is a valid object key, returning an error
// that wraps ErrInvalidKey if not. A valid key is at most MaxKeyLen bytes of
// UTF-8 without control characters or backslashes, made of segments separated
// by single slashes; no segment is empty, "." or "..", or longer than
// MaxSegmentLen bytes. So a key has no leading or trailing slash, and joined
// under a directory it always names a path inside that directory.
func ValidateKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return fmt.Errorf("blob: %w %s: %s", ErrInvalidKey, quoteKey(key), reason)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return "leading slash"
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return "control character"
		}
		if r == '\\' {
			return "backslash"
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return "empty segment"
		case seg == "." || seg == "..":
			return "dot segment"
		case len(seg) > MaxSegmentLen:
			return fmt.Sprintf("segment longer than %d bytes", MaxSegmentLen)
		}
	}
	return ""
}

// quoteKey quotes key for an error message, shortening a very long one.
func quoteKey(key string) string {
	const limit = 64
	if len(key) <= limit {
		return fmt.Sprintf("%q", key)
	}
	return fmt.Sprintf("%q... (%d bytes)", key[:limit], len(key))
}
