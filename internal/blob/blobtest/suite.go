// Package blobtest is the conformance suite that every blob.Store backend
// must pass. A backend's test calls Run with a function that opens a new,
// empty store. Gate holds a Put in flight, for tests of what races with one.
package blobtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/leadcap/leadcap/internal/blob"
)

// Run runs the conformance suite against the store that open returns. open
// is called once per subtest and must return a new, empty store; it should
// release the store with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, blob.Store)
	}{
		{"PutGet", testPutGet},
		{"NestedKeys", testNestedKeys},
		{"Versions", testVersions},
		{"GetVersion", testGetVersion},
		{"DeleteMarker", testDeleteMarker},
		{"DeleteVersion", testDeleteVersion},
		{"Purge", testPurge},
		{"List", testList},
		{"ListStops", testListStops},
		{"ListVersions", testListVersions},
		{"Usage", testUsage},
		{"InvalidKeys", testInvalidKeys},
		{"FailingReader", testFailingReader},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentPutPurge", testConcurrentPutPurge},
		{"LargeObject", testLargeObject},
		{"Cancelled", testCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

const leadKey = "raw/2026/11/25/conf-1/lead-1.json"

func testPutGet(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, content := range []string{`{"email":"ada@example.com"}`, ""} {
		info := MustPut(t, s, leadKey, content)
		want := blob.Info{Key: leadKey, Version: info.Version, Size: int64(len(content)), ModTime: info.ModTime, SHA256: sha(content)}
		if info != want {
			t.Errorf("Put = %+v, want %+v", info, want)
		}
		if info.Version == "" || info.ModTime.IsZero() {
			t.Errorf("Put = %+v, want a version and a time", info)
		}
		got, gotInfo := MustGet(t, s, leadKey)
		if got != content || !sameInfo(gotInfo, info) {
			t.Errorf("Get = %q, %+v; want %q, %+v", got, gotInfo, content, info)
		}
		stat, err := s.Stat(ctx, leadKey)
		if err != nil || !sameInfo(stat, info) {
			t.Errorf("Stat = %+v, %v; want %+v", stat, err, info)
		}
	}
	for _, key := range []string{"qr/conf-1.png", "exports/2026/11/25/ex-1.csv", "backups/2026-11-25/leads.db", "a", "é/ü/日本.json"} {
		MustPut(t, s, key, key)
		if got, _ := MustGet(t, s, key); got != key {
			t.Errorf("Get(%q) = %q", key, got)
		}
	}
	if _, _, err := s.Get(ctx, "raw/missing.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "raw/missing.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(missing) error = %v, want ErrNotFound", err)
	}
}

// testNestedKeys checks that a key may also be a prefix of other keys.
func testNestedKeys(t *testing.T, s blob.Store) {
	keys := []string{"a/b", "a", "a/b/c", "a-b", "a.b"}
	for _, k := range keys {
		MustPut(t, s, k, "content of "+k)
	}
	for _, k := range keys {
		if got, _ := MustGet(t, s, k); got != "content of "+k {
			t.Errorf("Get(%q) = %q", k, got)
		}
	}
	if _, err := s.Purge(t.Context(), "a/b"); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "a-b", "a.b", "a/b/c"}
	slices.Sort(want)
	if got := listKeys(t, s, ""); !slices.Equal(got, want) {
		t.Errorf("after Purge(a/b): List = %q, want %q", got, want)
	}
}

func testVersions(t *testing.T, s blob.Store) {
	ctx := t.Context()
	var puts []blob.Info
	for i := range 5 {
		puts = append(puts, MustPut(t, s, leadKey, fmt.Sprintf("v%d", i)))
	}
	versions, err := s.Versions(ctx, leadKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(puts) {
		t.Fatalf("Versions = %d versions, want %d", len(versions), len(puts))
	}
	for i, v := range versions {
		want := puts[len(puts)-1-i]
		if !sameInfo(v, want) {
			t.Errorf("Versions[%d] = %+v, want %+v (newest first)", i, v, want)
		}
		if i > 0 && v.ModTime.After(versions[i-1].ModTime) {
			t.Errorf("Versions[%d].ModTime %v after Versions[%d].ModTime %v", i, v.ModTime, i-1, versions[i-1].ModTime)
		}
	}
	if got, info := MustGet(t, s, leadKey); got != "v4" || info.Version != puts[4].Version {
		t.Errorf("Get = %q version %s, want v4 version %s", got, info.Version, puts[4].Version)
	}
	if _, err := s.Versions(ctx, "raw/missing.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Versions(missing) error = %v, want ErrNotFound", err)
	}
}

func testGetVersion(t *testing.T, s blob.Store) {
	ctx := t.Context()
	v1 := MustPut(t, s, leadKey, "one")
	v2 := MustPut(t, s, leadKey, "two")
	other := MustPut(t, s, "raw/other.json", "other")
	for _, tc := range []struct {
		info blob.Info
		want string
	}{{v1, "one"}, {v2, "two"}} {
		rc, info, err := s.GetVersion(ctx, leadKey, tc.info.Version)
		if err != nil {
			t.Fatalf("GetVersion(%s): %v", tc.info.Version, err)
		}
		if got := readAll(t, rc); got != tc.want || !sameInfo(info, tc.info) {
			t.Errorf("GetVersion(%s) = %q, %+v; want %q, %+v", tc.info.Version, got, info, tc.want, tc.info)
		}
	}
	for _, version := range []string{"", "nope", "../../etc/passwd", other.Version, v1.Version + "x"} {
		if _, _, err := s.GetVersion(ctx, leadKey, version); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("GetVersion(%q) error = %v, want ErrNotFound", version, err)
		}
	}
}

func testDeleteMarker(t *testing.T, s blob.Store) {
	ctx := t.Context()
	v1 := MustPut(t, s, leadKey, "one")
	MustPut(t, s, "raw/2026/11/25/conf-1/lead-2.json", "two")
	if err := s.Delete(ctx, leadKey); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, leadKey); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get after Delete: error = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, leadKey); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after Delete: error = %v, want ErrNotFound", err)
	}
	if got, want := listKeys(t, s, "raw/"), []string{"raw/2026/11/25/conf-1/lead-2.json"}; !slices.Equal(got, want) {
		t.Errorf("List after Delete = %q, want %q", got, want)
	}
	versions := mustVersions(t, s, leadKey)
	if len(versions) != 2 || !versions[0].DeleteMarker || versions[0].Size != 0 || versions[0].SHA256 != "" ||
		versions[0].Key != leadKey || versions[0].Version == "" || !sameInfo(versions[1], v1) {
		t.Fatalf("Versions after Delete = %+v, want a delete marker then %+v", versions, v1)
	}
	marker := versions[0]
	if _, _, err := s.GetVersion(ctx, leadKey, marker.Version); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("GetVersion(marker) error = %v, want ErrNotFound", err)
	}
	rc, _, err := s.GetVersion(ctx, leadKey, v1.Version)
	if err != nil {
		t.Fatalf("GetVersion(older) after Delete: %v", err)
	}
	if got := readAll(t, rc); got != "one" {
		t.Errorf("GetVersion(older) after Delete = %q, want one", got)
	}

	// Deleting what is already deleted, or was never there, changes nothing.
	if err := s.Delete(ctx, leadKey); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if got := mustVersions(t, s, leadKey); len(got) != 2 {
		t.Errorf("second Delete: %d versions, want 2", len(got))
	}
	if err := s.Delete(ctx, "raw/missing.json"); err != nil {
		t.Errorf("Delete(missing): %v", err)
	}
	if _, err := s.Versions(ctx, "raw/missing.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Versions after Delete(missing): error = %v, want ErrNotFound", err)
	}

	// A new Put makes the key live again.
	MustPut(t, s, leadKey, "three")
	if got, _ := MustGet(t, s, leadKey); got != "three" {
		t.Errorf("Get after Put after Delete = %q, want three", got)
	}
}

func testDeleteVersion(t *testing.T, s blob.Store) {
	ctx := t.Context()
	v1 := MustPut(t, s, leadKey, "one")
	v2 := MustPut(t, s, leadKey, "two")
	if err := s.DeleteVersion(ctx, leadKey, v2.Version); err != nil {
		t.Fatal(err)
	}
	if got, info := MustGet(t, s, leadKey); got != "one" || !sameInfo(info, v1) {
		t.Errorf("Get after deleting the latest version = %q, %+v; want one, %+v", got, info, v1)
	}
	for _, version := range []string{v2.Version, "nope", "../x"} {
		if err := s.DeleteVersion(ctx, leadKey, version); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("DeleteVersion(%q) error = %v, want ErrNotFound", version, err)
		}
	}

	// Removing a delete marker restores the object.
	if err := s.Delete(ctx, leadKey); err != nil {
		t.Fatal(err)
	}
	marker := mustVersions(t, s, leadKey)[0]
	if err := s.DeleteVersion(ctx, leadKey, marker.Version); err != nil {
		t.Fatal(err)
	}
	if got, _ := MustGet(t, s, leadKey); got != "one" {
		t.Errorf("Get after removing the delete marker = %q, want one", got)
	}

	// Removing the last version leaves nothing.
	if err := s.DeleteVersion(ctx, leadKey, v1.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Versions(ctx, leadKey); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Versions after removing every version: error = %v, want ErrNotFound", err)
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after removing every version = %q, want nothing", got)
	}
}

func testPurge(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for i := range 3 {
		MustPut(t, s, leadKey, fmt.Sprint(i))
	}
	if err := s.Delete(ctx, leadKey); err != nil {
		t.Fatal(err)
	}
	MustPut(t, s, leadKey, "after delete")
	sibling := "raw/2026/11/25/conf-1/lead-2.json"
	MustPut(t, s, sibling, "sibling")
	MustPut(t, s, leadKey+"/x", "under")

	n, err := s.Purge(ctx, leadKey)
	if err != nil || n != 5 {
		t.Fatalf("Purge = %d, %v; want 5 removed", n, err)
	}
	if _, err := s.Versions(ctx, leadKey); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Versions after Purge: error = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Get(ctx, leadKey); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get after Purge: error = %v, want ErrNotFound", err)
	}
	var purged []blob.Info
	err = s.ListVersions(ctx, leadKey, func(i blob.Info) error {
		if i.Key == leadKey {
			purged = append(purged, i)
		}
		return nil
	})
	if err != nil || len(purged) != 0 {
		t.Errorf("ListVersions after Purge = %+v, %v; want nothing of %s", purged, err, leadKey)
	}
	if got, want := listKeys(t, s, ""), []string{leadKey + "/x", sibling}; !slices.Equal(got, want) {
		t.Errorf("List after Purge = %q, want %q", got, want)
	}

	if n, err := s.Purge(ctx, leadKey); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want 0, nil", n, err)
	}
	for _, k := range []string{sibling, leadKey + "/x"} {
		if n, err := s.Purge(ctx, k); err != nil || n != 1 {
			t.Errorf("Purge(%q) = %d, %v; want 1", k, n, err)
		}
	}
	if u := mustUsage(t, s, ""); u != (blob.Usage{}) {
		t.Errorf("Usage after purging everything = %+v, want zero", u)
	}
	if got := listVersions(t, s, ""); len(got) != 0 {
		t.Errorf("ListVersions after purging everything = %+v, want nothing", got)
	}
}

func testList(t *testing.T, s blob.Store) {
	// Sorted, as List must return them.
	keys := []string{
		"exports/2026/11/25/ex-1.csv",
		"qr/conf-1.png",
		"raw/2026/1",
		"raw/2026/1-x",
		"raw/2026/1.x",
		"raw/2026/1/01/a.json",
		"raw/2026/10/01/a.json",
		"raw/2026/11/25/conf-1/lead-1.json",
		"raw/2026/11/25/conf-1/lead-2.json",
		"raw/2026/11/25/conf-10/lead-1.json",
		"raw/2026/11/25/conf-1~/lead-1.json",
		"raw/2026/2/01/a.json",
		"raw/20261/x.json",
		"raw/z.json",
		"raw/é.json",
	}
	if !slices.IsSorted(keys) {
		t.Fatal("the test's keys are not in byte order")
	}
	latest := make(map[string]blob.Info)
	// Store in reverse so that the order of List cannot come from the order of Puts.
	for _, k := range slices.Backward(keys) {
		MustPut(t, s, k, "old")
		latest[k] = MustPut(t, s, k, "new content of "+k)
	}
	MustPut(t, s, "raw/2026/1/deleted.json", "x")
	if err := s.Delete(t.Context(), "raw/2026/1/deleted.json"); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", "raw/", "raw/2026/1", "raw/2026/1/", "raw/2026/11/25/conf-1", "raw/2026/11/25/conf-1/",
		"raw/2026/11/25/conf-1/lead-1.json", "r", "raw/é", "qr/conf-1.png/", "nothing/", "raw//", "raw/2026/./", "../", "/"} {
		var want []string
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		var got []string
		err := s.List(t.Context(), prefix, func(i blob.Info) error {
			if !sameInfo(i, latest[i.Key]) {
				t.Errorf("List(%q) gave %+v, want the latest version %+v", prefix, i, latest[i.Key])
			}
			got = append(got, i.Key)
			return nil
		})
		if err != nil {
			t.Errorf("List(%q): %v", prefix, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) =\n%q\nwant\n%q", prefix, got, want)
		}
	}
}

func testListStops(t *testing.T, s blob.Store) {
	for _, k := range []string{"a/1", "a/2", "a/3"} {
		MustPut(t, s, k, k)
	}
	stop := errors.New("stop")
	for name, list := range map[string]func(context.Context, string, func(blob.Info) error) error{
		"List": s.List, "ListVersions": s.ListVersions,
	} {
		calls := 0
		err := list(t.Context(), "a/", func(blob.Info) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("%s with a failing callback = %v after %d calls; want stop after 1", name, err, calls)
		}
	}
}

func testListVersions(t *testing.T, s blob.Store) {
	ctx := t.Context()
	a1 := MustPut(t, s, "raw/a", "a1")
	b1 := MustPut(t, s, "raw/b", "b1")
	a2 := MustPut(t, s, "raw/a", "a2")
	if err := s.Delete(ctx, "raw/b"); err != nil {
		t.Fatal(err)
	}
	bm := mustVersions(t, s, "raw/b")[0]
	ab := MustPut(t, s, "raw/a/b", "ab")
	MustPut(t, s, "rawx", "not under raw/")
	want := []blob.Info{a2, a1, ab, bm, b1}
	got := listVersions(t, s, "raw/")
	if len(got) != len(want) {
		t.Fatalf("ListVersions(raw/) = %+v, want %+v", got, want)
	}
	for i := range want {
		if !sameInfo(got[i], want[i]) {
			t.Errorf("ListVersions(raw/)[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testUsage(t *testing.T, s blob.Store) {
	ctx := t.Context()
	MustPut(t, s, "raw/a", "12345")
	MustPut(t, s, "raw/a", "123")
	MustPut(t, s, "raw/b", "1234567")
	if err := s.Delete(ctx, "raw/b"); err != nil {
		t.Fatal(err)
	}
	MustPut(t, s, "raw/c/d", "12")
	MustPut(t, s, "rawx", "123456789")
	for prefix, want := range map[string]blob.Usage{
		"raw/":  {Objects: 2, Bytes: 3 + 2, Versions: 4, StoredBytes: 5 + 3 + 7 + 2, DeleteMarkers: 1},
		"raw":   {Objects: 3, Bytes: 3 + 2 + 9, Versions: 5, StoredBytes: 5 + 3 + 7 + 2 + 9, DeleteMarkers: 1},
		"raw/b": {Versions: 1, StoredBytes: 7, DeleteMarkers: 1},
		"qr/":   {},
	} {
		if got := mustUsage(t, s, prefix); got != want {
			t.Errorf("Usage(%q) = %+v, want %+v", prefix, got, want)
		}
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := t.Context()
	segments := strings.Repeat(strings.Repeat("x", 200)+"/", 5)
	longest := segments + strings.Repeat("y", blob.MaxKeyLen-len(segments))
	invalid := []string{
		"",
		"../x",
		"..",
		".",
		"a/../../b",
		"a/..",
		"./a",
		"a/./b",
		"/abs",
		"/",
		"a//b",
		"a/",
		"a\\b",
		"..\\x",
		"nul\x00",
		"tab\tkey",
		"new\nline",
		"del\x7f",
		"c1\u0085control",
		"bad\xffutf8",
		"\xc0\xaf",
		strings.Repeat("a/", 1000),
		strings.Repeat("x", 2000),
		strings.Repeat("x", 256),
		longest + "y",
	}
	valid := []string{
		leadKey,
		"exports/2026/11/25/ex-1.csv",
		"qr/conf-1.png",
		"backups/2026-11-25/leads.db",
		"a",
		".a/..b/...",
		"with space/and:colon/and%25",
		"日本/é.json",
		strings.Repeat("x", 255),
		longest,
	}
	for _, key := range valid {
		if err := blob.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%.40q) = %v, want nil", key, err)
		}
	}
	MustPut(t, s, longest, "longest")
	MustPut(t, s, "a", "a")
	version := MustPut(t, s, "a", "a").Version
	for _, key := range invalid {
		ops := map[string]error{"ValidateKey": blob.ValidateKey(key)}
		_, ops["Put"] = s.Put(ctx, key, strings.NewReader("x"))
		_, _, ops["Get"] = s.Get(ctx, key)
		_, _, ops["GetVersion"] = s.GetVersion(ctx, key, version)
		_, ops["Stat"] = s.Stat(ctx, key)
		_, ops["Versions"] = s.Versions(ctx, key)
		ops["Delete"] = s.Delete(ctx, key)
		ops["DeleteVersion"] = s.DeleteVersion(ctx, key, version)
		_, ops["Purge"] = s.Purge(ctx, key)
		for op, err := range ops {
			if !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("%s(%.40q) error = %v, want ErrInvalidKey", op, key, err)
			}
		}
	}
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"a", longest}) {
		t.Errorf("List after invalid keys = %.60q, want only the valid keys", got)
	}
}

// testFailingReader checks that a Put whose reader fails creates no version.
func testFailingReader(t *testing.T, s blob.Store) {
	ctx := t.Context()
	v1 := MustPut(t, s, leadKey, "good")
	boom := errors.New("boom")
	for _, key := range []string{leadKey, "raw/new/key.json"} {
		r := io.MultiReader(io.LimitReader(zeros{}, 1<<20), errReader{boom})
		if _, err := s.Put(ctx, key, r); !errors.Is(err, boom) {
			t.Errorf("Put(%q) with a failing reader: error = %v, want boom", key, err)
		}
	}
	if versions := mustVersions(t, s, leadKey); len(versions) != 1 || !sameInfo(versions[0], v1) {
		t.Errorf("Versions after a failed Put = %+v, want only %+v", versions, v1)
	}
	if _, err := s.Versions(ctx, "raw/new/key.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Versions of a key whose only Put failed: error = %v, want ErrNotFound", err)
	}
	if u := mustUsage(t, s, ""); u.Versions != 1 {
		t.Errorf("Usage after a failed Put = %+v, want 1 version", u)
	}
}

func testConcurrentPuts(t *testing.T, s blob.Store) {
	ctx := t.Context()
	const goroutines, puts = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*puts*2)
	for g := range goroutines {
		wg.Go(func() {
			for i := range puts {
				if _, err := s.Put(ctx, "shared/key.json", strings.NewReader(fmt.Sprintf("g%d-%d", g, i))); err != nil {
					errs <- err
				}
				// Keys that need new directories next to each other.
				if _, err := s.Put(ctx, fmt.Sprintf("fresh/%d/%d/x.json", i, g), strings.NewReader("x")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	versions := mustVersions(t, s, "shared/key.json")
	if len(versions) != goroutines*puts {
		t.Fatalf("%d versions, want %d", len(versions), goroutines*puts)
	}
	seen := make(map[string]bool)
	for i, v := range versions {
		if seen[v.Version] {
			t.Errorf("version %s appears twice", v.Version)
		}
		seen[v.Version] = true
		if i > 0 && v.ModTime.After(versions[i-1].ModTime) {
			t.Errorf("Versions not newest first at %d", i)
		}
	}
	if _, info := MustGet(t, s, "shared/key.json"); info.Version != versions[0].Version {
		t.Errorf("Get gave version %s, want the newest %s", info.Version, versions[0].Version)
	}
	if got := listKeys(t, s, "fresh/"); len(got) != goroutines*puts {
		t.Errorf("List(fresh/) = %d keys, want %d", len(got), goroutines*puts)
	}
}

// testConcurrentPutPurge races Puts with Purges of neighbouring keys, which
// may remove the directories or prefixes that the Puts need.
func testConcurrentPutPurge(t *testing.T, s blob.Store) {
	ctx := t.Context()
	const goroutines, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds)
	for g := range goroutines {
		wg.Go(func() {
			key := fmt.Sprintf("race/%d/k.json", g)
			for range rounds {
				if _, err := s.Put(ctx, key, strings.NewReader("x")); err != nil {
					errs <- err
					continue
				}
				if n, err := s.Purge(ctx, key); err != nil || n != 1 {
					errs <- fmt.Errorf("Purge(%q) = %d, %v; want 1", key, n, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := listVersions(t, s, ""); len(got) != 0 {
		t.Errorf("after purging every key, ListVersions = %d versions", len(got))
	}
}

func testLargeObject(t *testing.T, s blob.Store) {
	ctx := t.Context()
	const size = 20 << 20
	// A backend may buffer a part of the stream, but not all of it.
	const maxAlloc = size / 2
	want := patternSHA(t, size)

	before := totalAlloc()
	info, err := s.Put(ctx, "backups/2026-11-25/large.bin", io.LimitReader(&pattern{}, size))
	allocated := totalAlloc() - before
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size || info.SHA256 != want {
		t.Errorf("Put = %+v, want size %d sha256 %s", info, size, want)
	}
	if allocated > maxAlloc {
		t.Errorf("Put of %d bytes allocated %d bytes; it must stream", size, allocated)
	}

	before = totalAlloc()
	rc, _, err := s.Get(ctx, "backups/2026-11-25/large.bin")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	allocated = totalAlloc() - before
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != want {
		t.Errorf("Get read %d bytes with sha256 %s, want %d bytes with %s", n, got, size, want)
	}
	if allocated > maxAlloc {
		t.Errorf("Get of %d bytes allocated %d bytes; it must stream", size, allocated)
	}
}

func testCancelled(t *testing.T, s blob.Store) {
	v := MustPut(t, s, leadKey, "x")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ops := make(map[string]error)
	_, ops["Put"] = s.Put(ctx, leadKey, strings.NewReader("y"))
	_, _, ops["Get"] = s.Get(ctx, leadKey)
	_, _, ops["GetVersion"] = s.GetVersion(ctx, leadKey, v.Version)
	_, ops["Stat"] = s.Stat(ctx, leadKey)
	ops["List"] = s.List(ctx, "", func(blob.Info) error { return nil })
	ops["List(missing prefix)"] = s.List(ctx, "nothing/", func(blob.Info) error { return nil })
	ops["ListVersions"] = s.ListVersions(ctx, "", func(blob.Info) error { return nil })
	_, ops["Versions"] = s.Versions(ctx, leadKey)
	ops["Delete"] = s.Delete(ctx, leadKey)
	ops["DeleteVersion"] = s.DeleteVersion(ctx, leadKey, v.Version)
	_, ops["Purge"] = s.Purge(ctx, leadKey)
	_, ops["Usage"] = s.Usage(ctx, "")
	for op, err := range ops {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v, want context.Canceled", op, err)
		}
	}

	// Cancelled in the middle of the stream: no version.
	ctx, cancel = context.WithCancel(t.Context())
	r := io.MultiReader(io.LimitReader(zeros{}, 1<<20), cancelReader{cancel}, io.LimitReader(zeros{}, 1<<20))
	if _, err := s.Put(ctx, "raw/cancelled.json", r); !errors.Is(err, context.Canceled) {
		t.Errorf("Put cancelled midway: error = %v, want context.Canceled", err)
	}
	if _, err := s.Versions(t.Context(), "raw/cancelled.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Versions after a cancelled Put: error = %v, want ErrNotFound", err)
	}
	if versions := mustVersions(t, s, leadKey); len(versions) != 1 {
		t.Errorf("operations with a cancelled context changed %s: %+v", leadKey, versions)
	}
}

// MustPut stores content under key and returns its Info, failing t on error.
func MustPut(t testing.TB, s blob.Store, key, content string) blob.Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, strings.NewReader(content))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

// MustGet returns the content and Info of the latest version of key,
// failing t on error.
func MustGet(t testing.TB, s blob.Store, key string) (string, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return readAll(t, rc), info
}

func mustVersions(t testing.TB, s blob.Store, key string) []blob.Info {
	t.Helper()
	versions, err := s.Versions(t.Context(), key)
	if err != nil {
		t.Fatalf("Versions(%q): %v", key, err)
	}
	return versions
}

func mustUsage(t testing.TB, s blob.Store, prefix string) blob.Usage {
	t.Helper()
	u, err := s.Usage(t.Context(), prefix)
	if err != nil {
		t.Fatalf("Usage(%q): %v", prefix, err)
	}
	return u
}

func listKeys(t testing.TB, s blob.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(t.Context(), prefix, func(i blob.Info) error {
		keys = append(keys, i.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func listVersions(t testing.TB, s blob.Store, prefix string) []blob.Info {
	t.Helper()
	var infos []blob.Info
	err := s.ListVersions(t.Context(), prefix, func(i blob.Info) error {
		infos = append(infos, i)
		return nil
	})
	if err != nil {
		t.Fatalf("ListVersions(%q): %v", prefix, err)
	}
	return infos
}

func readAll(t testing.TB, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameInfo compares two Infos, ModTime by instant rather than by location.
func sameInfo(a, b blob.Info) bool {
	return a.ModTime.Equal(b.ModTime) && a.Key == b.Key && a.Version == b.Version &&
		a.Size == b.Size && a.DeleteMarker == b.DeleteMarker && a.SHA256 == b.SHA256
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// pattern is an endless reader of bytes that are not all alike.
type pattern struct{ off int }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.off*31 + p.off>>10)
		p.off++
	}
	return len(b), nil
}

func patternSHA(t testing.TB, size int64) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(&pattern{}, size)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// cancelReader cancels a context when read, and is empty.
type cancelReader struct{ cancel context.CancelFunc }

func (r cancelReader) Read([]byte) (int, error) {
	r.cancel()
	return 0, io.EOF
}

// Gate wraps a Store so that a test can hold a Put while it is in flight:
// each Put sends its key on Held, then waits until it receives from Release
// (or its ctx ends) before it stores the version, or after it stored it
// when After is set. The other methods go straight to the Store.
type Gate struct {
	blob.Store
	After   bool
	Held    chan string
	Release chan struct{}
}

// Put stores through the wrapped Store, held as Gate says.
func (g *Gate) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	hold := func() error {
		select {
		case g.Held <- key:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-g.Release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !g.After {
		if err := hold(); err != nil {
			return blob.Info{}, err
		}
	}
	info, err := g.Store.Put(ctx, key, r)
	if g.After && err == nil {
		err = hold()
	}
	return info, err
}
