// Package accounts makes accounts and their keys (API keys stored only as hashes, postback
// keys), authenticates callers by them, and loads the demo data set.
package accounts

import (
	"context"
	"fmt"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/viewer"
)

// Keys are an account's secrets as shown once, when they are made.
type Keys struct {
	ID          int    `json:"id"`
	APIKey      string `json:"apiKey"`
	PostbackKey string `json:"postbackKey"`
}

// Create makes an account with one API key and a postback key.
func Create(ctx context.Context, client *ent.Client, name string) (Keys, error) {
	ctx = viewer.AsSystem(ctx)
	var keys Keys
	err := withTx(ctx, client, func(tx *ent.Tx) error {
		acc, err := tx.Account.Create().SetName(name).SetPostbackKey(NewPostbackKey()).Save(ctx)
		if err != nil {
			return fmt.Errorf("create account %q: %w", name, err)
		}
		key, err := issueAPIKey(ctx, tx.Client(), acc.ID, "default")
		if err != nil {
			return err
		}
		keys = Keys{ID: acc.ID, APIKey: key, PostbackKey: acc.PostbackKey}
		return nil
	})
	return keys, err
}

// issueAPIKey stores the hash of a new key and returns the key.
func issueAPIKey(ctx context.Context, client *ent.Client, accountID int, name string) (string, error) {
	key, prefix, hash := NewAPIKey()
	if err := client.APIKey.Create().SetAccountID(accountID).SetName(name).SetPrefix(prefix).SetHash(hash).Exec(ctx); err != nil {
		return "", fmt.Errorf("create API key: %w", err)
	}
	return key, nil
}

func withTx(ctx context.Context, client *ent.Client, fn func(*ent.Tx) error) error {
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
