// Package pgtest gives tests a fresh PostgreSQL database on the server
// TEST_DATABASE_URL names (scripts/test.sh sets it), dropped afterwards.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Available reports whether TEST_DATABASE_URL is set. Under CI=true a
// missing server fails the test instead, since a skipped store is a lie.
func Available(t testing.TB) bool {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but TEST_DATABASE_URL is not set")
	}
	return false
}

// FreshDatabase creates an empty database and returns its URL; it is
// dropped (forcibly) when the test ends. It skips the test without a server.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	if !Available(t) {
		t.Skip("TEST_DATABASE_URL not set")
	}
	server := os.Getenv("TEST_DATABASE_URL")
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" {
		t.Fatalf("TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "lg_test_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	// A throwaway database needs no durable commits: no commit waits for
	// a WAL flush, which speeds up suites that insert many rows one
	// transaction at a time (the recall suite).
	if err := admin(`ALTER DATABASE ` + name + ` SET synchronous_commit = off`); err != nil {
		t.Fatalf("configure test database: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
