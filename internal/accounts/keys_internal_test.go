package accounts

import (
	"context"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// TestAPublishableKeyIsRememberedBrieflyAndForgottenWhenRevoked: a publishable key found valid
// answers without the database until publishableKeyTTL has passed (its row revoked behind the
// process's back goes on working that long, and no longer), a key revoked through
// RevokeAPIKey is refused at once, and an API key is never remembered.
func TestAPublishableKeyIsRememberedBrieflyAndForgottenWhenRevoked(t *testing.T) {
	ttl := publishableKeyTTL
	publishableKeyTTL = 300 * time.Millisecond
	t.Cleanup(func() { publishableKeyTTL = ttl })
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc, err := Create(ctx, db.Client, "Memory")
		if err != nil {
			t.Fatal(err)
		}
		authenticates := func(key string) bool {
			t.Helper()
			c, err := AuthenticateKey(ctx, db.Client, key)
			if err != nil && err != ErrUnauthenticated {
				t.Fatal(err)
			}
			return err == nil && c.AccountID == acc.ID
		}
		revokeBehindItsBack := func(key string) {
			t.Helper()
			if _, err := db.SQL.Exec(`UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE hash = $1`, HashAPIKey(key)); err != nil {
				t.Fatal(err)
			}
		}

		pub, err := CreatePublishableKey(ctx, db.Client, acc.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		if !authenticates(pub.Secret) {
			t.Fatal("a new publishable key is refused")
		}
		revokeBehindItsBack(pub.Secret)
		if !authenticates(pub.Secret) {
			t.Error("a publishable key just found valid was asked for again")
		}
		time.Sleep(publishableKeyTTL + 50*time.Millisecond)
		if authenticates(pub.Secret) {
			t.Errorf("a publishable key revoked %v ago still works", publishableKeyTTL)
		}

		pub, err = CreatePublishableKey(ctx, db.Client, acc.ID, "wall 2")
		if err != nil {
			t.Fatal(err)
		}
		if !authenticates(pub.Secret) {
			t.Fatal("a new publishable key is refused")
		}
		if _, err := RevokeAPIKey(ctx, db.Client, acc.ID, pub.APIKey.ID); err != nil {
			t.Fatal(err)
		}
		if authenticates(pub.Secret) {
			t.Error("a publishable key revoked through RevokeAPIKey still works")
		}

		// Revoked in a transaction (as a GraphQL mutation is), while a page reads the row
		// before the commit: once it commits, the key is refused. PostgreSQL only: SQLite's one
		// connection is the transaction's until it ends.
		if db.Dialect == dialect.Postgres {
			pub, err = CreatePublishableKey(ctx, db.Client, acc.ID, "wall 3")
			if err != nil {
				t.Fatal(err)
			}
			// Used once and forgotten, so that the read below has no last-use stamp to write
			// (it would wait for the revoking transaction's row lock).
			if !authenticates(pub.Secret) {
				t.Fatal("a new publishable key is refused")
			}
			publishableKeys.forget(pub.APIKey.ID)
			tx, err := db.Client.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := RevokeAPIKey(ent.NewTxContext(ctx, tx), tx.Client(), acc.ID, pub.APIKey.ID); err != nil {
				t.Fatal(err)
			}
			if !authenticates(pub.Secret) {
				t.Error("a publishable key whose revocation has not committed is refused")
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if authenticates(pub.Secret) {
				t.Error("a publishable key revoked in a committed transaction still works")
			}
		}

		if !authenticates(acc.APIKey) {
			t.Fatal("the account's API key is refused")
		}
		revokeBehindItsBack(acc.APIKey)
		if authenticates(acc.APIKey) {
			t.Error("an API key revoked in the database still works: API keys must not be remembered")
		}
	})
}
