package storetest

import (
	"context"
	"testing"

	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
)

// Open opens the database at dsn with a new key ring (unless opts has a
// sealer), migrates it, and closes it when the test ends. It returns the
// store and the key ring.
func Open(t testing.TB, dsn string, opts store.Options) (*store.Store, *crypto.KeyRing) {
	t.Helper()
	keys, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Sealer == nil {
		opts.Sealer = keys
	}
	s, err := store.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, keys
}
