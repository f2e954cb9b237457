// Secrets of an account: API keys for the GraphQL API (stored only as hashes) and the postback
// key networks send back to us.

package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/apikey"
	"github.com/gokart/gokart/internal/viewer"
)

// apiKeyPrefix marks gokart API keys, so that leaked keys are easy to recognise in scanners.
const apiKeyPrefix = "gk_"

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

// Authenticate resolves an API key to its account id.
func Authenticate(ctx context.Context, client *ent.Client, key string) (int, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) {
		return 0, ErrUnauthenticated
	}
	k, err := client.APIKey.Query().
		Where(apikey.Hash(HashAPIKey(key)), apikey.RevokedAtIsNil()).
		Only(viewer.AsSystem(ctx))
	if ent.IsNotFound(err) {
		return 0, ErrUnauthenticated
	}
	if err != nil {
		return 0, err
	}
	return k.AccountID, nil
}
