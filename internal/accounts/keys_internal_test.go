package accounts

import (
	"context"
	"testing"
	"time"

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

		if !authenticates(acc.APIKey) {
			t.Fatal("the account's API key is refused")
		}
		revokeBehindItsBack(acc.APIKey)
		if authenticates(acc.APIKey) {
			t.Error("an API key revoked in the database still works: API keys must not be remembered")
		}
	})
}
