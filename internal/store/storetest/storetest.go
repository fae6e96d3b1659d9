// Package storetest gives tests real databases: a SQLite file in a temporary
// directory always, and a fresh schema on the PostgreSQL server named by
// LEADCAP_TEST_POSTGRES_URL when it is set. Under CI=true a missing
// PostgreSQL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresEnv names the environment variable with the test server's URL.
const PostgresEnv = "LEADCAP_TEST_POSTGRES_URL"

// SQLite returns the path of a new SQLite database file.
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "leadcap.db")
}

// Postgres returns the URL of a new, empty schema on the test server, dropped
// when the test ends. It skips the test when no server is configured, or
// fails it under CI=true.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: PostgreSQL tests are required under CI=true", PostgresEnv)
		}
		t.Skipf("%s is not set; skipping PostgreSQL", PostgresEnv)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "leadcap_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("postgres: create schema (is the server at %s running?): %v", base, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: bad %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Backends returns a constructor of a fresh database per backend, by name.
func Backends() map[string]func(t testing.TB) string {
	return map[string]func(t testing.TB) string{"sqlite": SQLite, "postgres": Postgres}
}

// Each runs fn as a subtest against each backend with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			fn(t, Backends()[name](t))
		})
	}
}
