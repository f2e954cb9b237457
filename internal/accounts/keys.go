// Secrets of an account: API keys for the GraphQL API (stored only as hashes) and the postback
// key networks send back to us.

package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/apikey"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/viewer"
)

// apiKeyPrefix marks gokart API keys, so that leaked keys are easy to recognise in scanners;
// publishableKeyPrefix marks the publishable ones, which may only read the offerwall feed.
const (
	apiKeyPrefix         = "gk_"
	publishableKeyPrefix = "gk_pub_"
)

// ErrUnauthenticated is returned for a missing, malformed, unknown or revoked key.
var ErrUnauthenticated = errors.New("missing or invalid API key: send Authorization: Bearer <api key>")

// NewAPIKey returns a new key (shown once), the prefix kept to tell keys apart, and its hash.
func NewAPIKey() (key, prefix string, hash []byte) {
	key = apiKeyPrefix + randomToken(32)
	return key, key[:len(apiKeyPrefix)+6], HashAPIKey(key)
}

// NewPostbackKey returns a URL-safe secret for postback URLs.
func NewPostbackKey() string { return randomToken(24) }

// HashAPIKey is SHA-256: the keys carry 256 random bits, so a slow hash would add nothing.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// BearerToken extracts the token of an `Authorization: Bearer …` header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// lastUsedResolution is how stale a key's last_used_at may get: a busy key costs one write a
// minute, not one per request.
const lastUsedResolution = time.Minute

// Authenticate resolves an API key to its account id. API keys are never remembered, so a
// revoked one fails from the next request on; a publishable key may be remembered for
// publishableKeyTTL (AuthenticateKey).
func Authenticate(ctx context.Context, client *ent.Client, key string) (int, error) {
	k, err := AuthenticateKey(ctx, client, key)
	return k.AccountID, err
}

// Caller is who a key authenticates: its account, and whether the key is a publishable one.
type Caller struct {
	AccountID   int
	Publishable bool
}

// AuthenticateKey resolves an API key or a publishable key to its caller, as Authenticate.
// A publishable key found valid is remembered for publishableKeyTTL (publishableKeys).
func AuthenticateKey(ctx context.Context, client *ent.Client, key string) (Caller, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) {
		return Caller{}, ErrUnauthenticated
	}
	hash := HashAPIKey(key)
	if c, ok := publishableKeys.get(hash); ok {
		return c, nil
	}
	// Taken before the read: the key is remembered for at most the TTL after the row was read,
	// and not at all if a revocation was noted meanwhile.
	start, gen := time.Now(), publishableKeys.generation()
	ctx = viewer.AsSystem(ctx)
	k, err := client.APIKey.Query().
		Where(apikey.Hash(hash), apikey.RevokedAtIsNil()).
		Only(ctx)
	if ent.IsNotFound(err) {
		return Caller{}, ErrUnauthenticated
	}
	if err != nil {
		return Caller{}, err
	}
	if now := time.Now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedResolution {
		// Conditional, so replicas racing on one key write once; a failure only loses the stamp.
		if err := client.APIKey.Update().
			Where(apikey.ID(k.ID), apikey.Or(apikey.LastUsedAtIsNil(), apikey.LastUsedAtLT(now.Add(-lastUsedResolution)))).
			SetLastUsedAt(now).Exec(ctx); err != nil {
			slog.WarnContext(ctx, "record API key use", "key", k.Prefix, "err", err)
		}
	}
	c := Caller{AccountID: k.AccountID, Publishable: k.Publishable}
	if c.Publishable {
		publishableKeys.put(hash, k.ID, c, gen, start.Add(publishableKeyTTL))
	}
	return c, nil
}

// publishableKeyTTL is how long a publishable key found valid is taken without asking the
// database: one offerwall is read by every member's device with one key, and the key's lookup
// was one of a page's two statements. A key revoked by this process is forgotten at once; one
// revoked by another (a replica, the CLI) is taken for at most this much longer. API keys,
// which may change an account, are always asked for.
var publishableKeyTTL = time.Second

// maxRememberedKeys bounds publishableKeys; past it, it starts afresh.
const maxRememberedKeys = 10_000

var publishableKeys = &keyMemory{keys: map[[sha256.Size]byte]rememberedKey{}}

// keyMemory is the publishable keys found valid lately, by hash.
type keyMemory struct {
	mu   sync.Mutex
	keys map[[sha256.Size]byte]rememberedKey
	// forgets counts revocations noted; a key read before one is not remembered.
	forgets uint64
}

type rememberedKey struct {
	id     int
	caller Caller
	until  time.Time
}

func (m *keyMemory) get(hash []byte) (Caller, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[[sha256.Size]byte(hash)]
	if !ok || !time.Now().Before(k.until) {
		return Caller{}, false
	}
	return k.caller, true
}

// generation is the count of revocations noted so far, for put.
func (m *keyMemory) generation() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.forgets
}

// put remembers a key read when the count of revocations was gen, until until; a revocation
// noted since then may be this key's, so it is not remembered.
func (m *keyMemory) put(hash []byte, id int, c Caller, gen uint64, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.forgets != gen {
		return
	}
	if len(m.keys) >= maxRememberedKeys {
		clear(m.keys)
	}
	m.keys[[sha256.Size]byte(hash)] = rememberedKey{id: id, caller: c, until: until}
}

// forget drops the key with that id.
func (m *keyMemory) forget(id int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgets++
	for h, k := range m.keys {
		if k.id == id {
			delete(m.keys, h)
		}
	}
}

// CreatedKey is a new API key: the row as listed, and the secret, shown only now.
type CreatedKey struct {
	APIKey *ent.APIKey
	Secret string
}

// CreateAPIKey issues a new key for account accountID; only its hash is stored.
func CreateAPIKey(ctx context.Context, c *ent.Client, accountID int, name string) (CreatedKey, error) {
	return createKey(ctx, c, accountID, name, false)
}

// CreatePublishableKey issues a publishable key (gk_pub_…) for account accountID: one that may
// only read the offerwall feed, listed and revoked like an API key.
func CreatePublishableKey(ctx context.Context, c *ent.Client, accountID int, name string) (CreatedKey, error) {
	return createKey(ctx, c, accountID, name, true)
}

func createKey(ctx context.Context, c *ent.Client, accountID int, name string, publishable bool) (CreatedKey, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return CreatedKey{}, errcode.Invalid("name", "must not be empty: name the key after who uses it, e.g. \"dashboard\"")
	case len(name) > maxName:
		return CreatedKey{}, errcode.Invalid("name", "must be at most %d characters", maxName)
	}
	key, prefix, hash := NewAPIKey()
	if publishable {
		key = publishableKeyPrefix + key[len(apiKeyPrefix):]
		prefix, hash = key[:len(publishableKeyPrefix)+6], HashAPIKey(key)
	}
	k, err := c.APIKey.Create().SetAccountID(accountID).SetName(name).SetPrefix(prefix).SetHash(hash).
		SetPublishable(publishable).Save(viewer.AsSystem(ctx))
	if err != nil {
		return CreatedKey{}, fmt.Errorf("create API key: %w", err)
	}
	return CreatedKey{APIKey: k, Secret: key}, nil
}

// ListAPIKeys returns the keys of account accountID, oldest first; revoked ones only when asked.
func ListAPIKeys(ctx context.Context, c *ent.Client, accountID int, includeRevoked bool) ([]*ent.APIKey, error) {
	q := c.APIKey.Query().Where(apikey.AccountID(accountID)).Order(apikey.ByID())
	if !includeRevoked {
		q.Where(apikey.RevokedAtIsNil())
	}
	return q.All(viewer.AsSystem(ctx))
}

// RevokeAPIKey revokes key keyID of account accountID; on this server it stops authenticating
// once the revocation commits. Revoking a revoked key again changes nothing. Another account's
// key reads as not found.
func RevokeAPIKey(ctx context.Context, c *ent.Client, accountID, keyID int) (*ent.APIKey, error) {
	ctx = viewer.AsSystem(ctx)
	// Forgotten now, and again when the transaction that revokes it commits (GraphQL mutations
	// run in one): a page that read the row before the commit is not remembered (generation).
	publishableKeys.forget(keyID)
	if tx := ent.TxFromContext(ctx); tx != nil {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				err := next.Commit(ctx, tx)
				publishableKeys.forget(keyID)
				return err
			})
		})
	}
	if _, err := c.APIKey.Update().
		Where(apikey.ID(keyID), apikey.AccountID(accountID), apikey.RevokedAtIsNil()).
		SetRevokedAt(time.Now()).Save(ctx); err != nil {
		return nil, fmt.Errorf("revoke API key %d: %w", keyID, err)
	}
	k, err := c.APIKey.Query().Where(apikey.ID(keyID), apikey.AccountID(accountID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &errcode.Error{Code: errcode.NotFound, Field: "id", Message: fmt.Sprintf("no API key with id %d", keyID)}
	}
	return k, err
}
