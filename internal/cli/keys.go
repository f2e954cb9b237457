package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// keyFlags are the flags every `gokart key` command takes.
func keyFlags(e *env, name, args, summary string) (*flag.FlagSet, *string, *int, *bool) {
	fs := flags("key "+name, args, summary)
	url := dbFlag(fs, e.getenv)
	account := fs.Int("account", 0, "the account's id (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	return fs, url, account, asJSON
}

// withAccount opens the database and checks that the account exists.
func withAccount(ctx context.Context, e *env, url string, id int, fn func(*storage.DB) error) error {
	return withDB(ctx, url, e.stderr, func(db *storage.DB) error {
		if _, err := db.Client.Account.Get(viewer.AsSystem(ctx), id); ent.IsNotFound(err) {
			return fmt.Errorf("no account with id %d", id)
		} else if err != nil {
			return err
		}
		return fn(db)
	})
}

// keyJSON is a key as `key list --json` and `key revoke --json` print it.
type keyJSON struct {
	ID         int        `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	Secret     string     `json:"secret,omitempty"`
}

func toJSON(k *ent.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func runKeyCreate(ctx context.Context, e *env, args []string) error {
	fs, url, account, asJSON := keyFlags(e, "create", "--account ID [--name NAME] [--json]", "issue a new API key for an account and print it once")
	name := fs.String("name", "cli", "a label for people, e.g. dashboard")
	if err := parse(fs, e, args); err != nil {
		return err
	}
	if *account == 0 {
		return required(fs, "account")
	}
	return withAccount(ctx, e, *url, *account, func(db *storage.DB) error {
		k, err := accounts.CreateAPIKey(ctx, db.Client, *account, *name)
		if err != nil {
			return err
		}
		if *asJSON {
			j := toJSON(k.APIKey)
			j.Secret = k.Secret
			return json.NewEncoder(e.stdout).Encode(j)
		}
		_, err = fmt.Fprintf(e.stdout, "key id:  %d\napi key: %s\n(shown only now; keep it safe)\n", k.APIKey.ID, k.Secret)
		return err
	})
}

func runKeyList(ctx context.Context, e *env, args []string) error {
	fs, url, account, asJSON := keyFlags(e, "list", "--account ID [--revoked] [--json]", "list an account's API keys: id, name, prefix, when made and last used (never the keys)")
	revoked := fs.Bool("revoked", false, "list revoked keys too")
	if err := parse(fs, e, args); err != nil {
		return err
	}
	if *account == 0 {
		return required(fs, "account")
	}
	return withAccount(ctx, e, *url, *account, func(db *storage.DB) error {
		keys, err := accounts.ListAPIKeys(ctx, db.Client, *account, *revoked)
		if err != nil {
			return err
		}
		if *asJSON {
			list := make([]keyJSON, len(keys))
			for i, k := range keys {
				list[i] = toJSON(k)
			}
			return json.NewEncoder(e.stdout).Encode(list)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, stamp(&k.CreatedAt), stamp(k.LastUsedAt), stamp(k.RevokedAt))
		}
		return tw.Flush()
	})
}

func runKeyRevoke(ctx context.Context, e *env, args []string) error {
	fs, url, account, asJSON := keyFlags(e, "revoke", "--account ID --id KEY_ID [--json]", "revoke an API key of an account; requests with it get 401 from now on")
	id := fs.Int("id", 0, "the key's id, from gokart key list (required)")
	if err := parse(fs, e, args); err != nil {
		return err
	}
	if *account == 0 {
		return required(fs, "account")
	}
	if *id == 0 {
		return required(fs, "id")
	}
	return withAccount(ctx, e, *url, *account, func(db *storage.DB) error {
		k, err := accounts.RevokeAPIKey(ctx, db.Client, *account, *id)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(toJSON(k))
		}
		_, err = fmt.Fprintf(e.stdout, "revoked key %d (%s, %s…) at %s\n", k.ID, k.Name, k.Prefix, stamp(k.RevokedAt))
		return err
	})
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
