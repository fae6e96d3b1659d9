package crypto

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenReloadsForUnknownKey(t *testing.T) {
	// Two rings loaded from the same file stand for a server and the CLI.
	server, dir := mustKeyRing(t)
	cli := mustLoad(t, dir)
	oldID := server.PrimaryKeyID()
	before := mustSeal(t, server, []byte("before"), []byte("ad"))

	newID, err := cli.Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	after := mustSeal(t, cli, []byte("after"), []byte("ad"))
	if id, _ := KeyID(after); id != newID {
		t.Fatalf("the rotating ring sealed with key %d, want %d", id, newID)
	}
	// The server has not loaded the new key; Open reloads the file once.
	got, err := server.Open(after, []byte("ad"))
	if err != nil || string(got) != "after" {
		t.Fatalf("server Open of data sealed with the new key = %q, %v", got, err)
	}
	if server.PrimaryKeyID() != newID {
		t.Errorf("after the reload the server seals with key %d, want %d", server.PrimaryKeyID(), newID)
	}
	if got, err := server.Open(before, []byte("ad")); err != nil || string(got) != "before" {
		t.Errorf("Open of data sealed with the old key %d after the reload = %q, %v", oldID, got, err)
	}
	if changed, err := server.Refresh(); changed || err != nil {
		t.Errorf("Refresh of an unchanged file = %v, %v; want false, nil", changed, err)
	}
	// A key in no file at all stays unknown, and says so.
	_, other := mustKeyRing(t)
	stranger := mustSeal(t, mustLoad(t, other), []byte("x"), nil)
	if _, err := server.Open(stranger, nil); err == nil || !strings.Contains(err.Error(), "is not in the key ring") {
		t.Errorf("Open with a key of another ring: %v, want \"is not in the key ring\"", err)
	}
}

func TestRefreshPicksUpRotation(t *testing.T) {
	server, dir := mustKeyRing(t)
	cli := mustLoad(t, dir)
	if changed, err := server.Refresh(); changed || err != nil {
		t.Fatalf("Refresh before any change = %v, %v", changed, err)
	}
	newID, err := cli.Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := server.Refresh()
	if !changed || err != nil {
		t.Fatalf("Refresh after another ring rotated = %v, %v; want true, nil", changed, err)
	}
	ct := mustSeal(t, server, []byte("x"), nil)
	if id, _ := KeyID(ct); id != newID {
		t.Errorf("after Refresh the server seals with key %d, want the new primary %d", id, newID)
	}
	if !equalKeyInfos(server.Keys(), cli.Keys()) {
		t.Errorf("server keys %+v, want the file's %+v", server.Keys(), cli.Keys())
	}
}

func TestRefreshKeepsRingOnBadFile(t *testing.T) {
	path := func(dir string) string { return filepath.Join(dir, KeyFileName) }
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		wantErr string
	}{
		{"not JSON", func(t *testing.T, dir string) {
			replaceFile(t, path(dir), []byte("{not json"), 0o600)
		}, "keys.json"},
		{"another ring's encryption keys", func(t *testing.T, dir string) { takeKeysOfOtherRing(t, dir, "aead") }, "is missing"},
		{"another ring's index key", func(t *testing.T, dir string) { takeKeysOfOtherRing(t, dir, "index") }, "index key"},
		{"readable by all", func(t *testing.T, dir string) {
			if err := os.Chmod(path(dir), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "mode 0644"},
		{"removed", func(t *testing.T, dir string) {
			if err := os.Remove(path(dir)); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, dir := mustKeyRing(t)
			good, err := os.ReadFile(path(dir))
			if err != nil {
				t.Fatal(err)
			}
			keys := r.Keys()
			ct := mustSeal(t, r, []byte("kept"), nil)
			tt.breakIt(t, dir)

			changed, err := r.Refresh()
			if changed || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Refresh of a bad key file = %v, %v; want an error containing %q", changed, err, tt.wantErr)
			}
			if !equalKeyInfos(r.Keys(), keys) {
				t.Errorf("a refused Refresh changed the keys: %+v, want %+v", r.Keys(), keys)
			}
			if got, err := r.Open(ct, nil); err != nil || string(got) != "kept" {
				t.Errorf("Open after a refused Refresh = %q, %v", got, err)
			}
			if got := mustSeal(t, r, nil, nil); !sealedWith(got, keys) {
				t.Error("after a refused Refresh Seal uses another key")
			}

			// Repaired, with a key added: the ring takes it.
			replaceFile(t, path(dir), good, 0o600)
			id, err := mustLoad(t, dir).Rotate(dir)
			if err != nil {
				t.Fatal(err)
			}
			if changed, err := r.Refresh(); !changed || err != nil || r.PrimaryKeyID() != id {
				t.Errorf("Refresh of the repaired, rotated file = %v, %v, primary %d; want true, nil, %d", changed, err, r.PrimaryKeyID(), id)
			}
		})
	}
}

// sealedWith reports whether ct was sealed with the primary key of keys.
func sealedWith(ct []byte, keys []KeyInfo) bool {
	id, err := KeyID(ct)
	for _, k := range keys {
		if k.Primary {
			return err == nil && k.ID == id
		}
	}
	return false
}

// takeKeysOfOtherRing replaces one keyset of the key file in dir, "aead"
// or "index", by that of a new, unrelated key ring.
func takeKeysOfOtherRing(t *testing.T, dir, keyset string) {
	t.Helper()
	_, other := mustKeyRing(t)
	var mine, theirs map[string]json.RawMessage
	readJSON(t, filepath.Join(dir, KeyFileName), &mine)
	readJSON(t, filepath.Join(other, KeyFileName), &theirs)
	mine[keyset] = theirs[keyset]
	data, _ := json.Marshal(mine)
	replaceFile(t, filepath.Join(dir, KeyFileName), data, 0o600)
}

// readJSON decodes the JSON file at path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// replaceFile replaces the file at path by a new one, as an editor would.
func replaceFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFileWithoutAddedAt(t *testing.T) {
	// A key file written before leadcap recorded when keys were added.
	r, dir := mustKeyRing(t)
	path := filepath.Join(dir, KeyFileName)
	var kf map[string]json.RawMessage
	readJSON(t, path, &kf)
	if _, ok := kf["added_at"]; !ok {
		t.Fatalf("a new key file has no added_at: %s", kf)
	}
	delete(kf, "added_at")
	old, _ := json.Marshal(kf)
	replaceFile(t, path, old, 0o600)

	loaded := mustLoad(t, dir)
	if keys := loaded.Keys(); len(keys) != 1 || !keys[0].AddedAt.IsZero() || keys[0].ID != r.PrimaryKeyID() {
		t.Fatalf("keys of a file without added_at: %+v, want the one key, time unknown", keys)
	}
	newID, err := loaded.Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := mustLoad(t, dir).Keys()
	if len(keys) != 2 || !keys[0].AddedAt.IsZero() || keys[1].ID != newID || keys[1].AddedAt.IsZero() {
		t.Fatalf("after rotating an old key file: %+v, want the old key's time unknown, the new key's known", keys)
	}

	replaceFile(t, path, []byte(strings.Replace(string(old), `"version"`, `"added_at":{"primary":"2026-01-02T03:04:05Z"},"version"`, 1)), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `added_at: "primary" is not a key id`) {
		t.Errorf("Load of a bad added_at: %v", err)
	}
}

func TestConcurrentOpenOfRotatedKeys(t *testing.T) {
	// Many requests of a server meet data another process sealed with
	// keys it rotated in, while the server's own timer refreshes too.
	server, dir := mustKeyRing(t)
	other := mustLoad(t, dir)
	const rotations, workers = 5, 8
	var wg sync.WaitGroup
	errs := make(chan error, rotations*workers+1)
	for range rotations {
		if _, err := other.Rotate(dir); err != nil {
			t.Fatal(err)
		}
		ct := mustSeal(t, other, []byte("new"), nil)
		for range workers {
			wg.Go(func() {
				if got, err := server.Open(ct, nil); err != nil || string(got) != "new" {
					errs <- fmt.Errorf("Open = %q, %v", got, err)
				}
				if _, err := server.Seal([]byte("x"), nil); err != nil {
					errs <- err
				}
			})
		}
		wg.Go(func() {
			if _, err := server.Refresh(); err != nil {
				errs <- err
			}
		})
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !equalKeyInfos(server.Keys(), other.Keys()) || len(server.Keys()) != rotations+1 {
		t.Errorf("server keys %+v, want the file's %+v", server.Keys(), other.Keys())
	}
}
