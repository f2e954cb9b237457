package httpapi

import (
	"crypto/sha256"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/unmatched"
)

// maxTrackedSources bounds the token buckets one limiter keeps (about 200 bytes each); the least
// recently seen source is forgotten first, and starts again with a full bucket.
const maxTrackedSources = 20000

// buckets are token buckets by key, in a bounded LRU.
type buckets struct {
	limit rate.Limit
	burst int
	lru   *lru.Cache[string, *rate.Limiter]
}

func newBuckets(l config.Limit) *buckets {
	if l.Off() {
		return nil
	}
	c, _ := lru.New[string, *rate.Limiter](maxTrackedSources)
	return &buckets{limit: rate.Every(l.Per / time.Duration(l.Events)), burst: l.Events, lru: c}
}

func (b *buckets) get(key string) *rate.Limiter {
	if l, ok := b.lru.Get(key); ok {
		return l
	}
	l := rate.NewLimiter(b.limit, b.burst)
	if prev, ok, _ := b.lru.PeekOrAdd(key, l); ok {
		return prev
	}
	return l
}

// empty reports whether key has no token left, and how long until it has one.
func (b *buckets) empty(key string, now time.Time) (bool, time.Duration) {
	tokens := b.get(key).TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(b.limit) * float64(time.Second))
}

// take spends one of key's tokens (or goes into debt: empty then answers for longer).
func (b *buckets) take(key string, now time.Time) { b.get(key).AllowN(now, 1) }

// limits answers 429 to a source address that sends too many clicks, or too many postbacks
// that fail: a bad or missing key, an unknown click id or event. Limits are per replica (each
// keeps its own buckets), which is enough to turn a flood into a trickle.
//
// A failed postback costs its source a token and a successful one costs nothing; when the
// source has no token left, its postbacks are answered 429 before any work, so they write no
// log row. Failures of a key the replica has seen accepted are counted for that source and key
// only: an account whose offer is misconfigured (every postback 404) slows its own postbacks
// from a network's address, not every other account's from the same address. Failures of any
// other key share the source's bucket, so random keys gain nothing.
type limits struct {
	clicks, failed *buckets
	trusted        []netip.Prefix
	goodKeys       *lru.Cache[[16]byte, struct{}] // hashes of keys seen accepted, recently
	now            func() time.Time
}

func withLimits(clickLimit, failedPostbackLimit config.Limit, trusted []netip.Prefix, next http.Handler) http.Handler {
	l := &limits{clicks: newBuckets(clickLimit), failed: newBuckets(failedPostbackLimit), trusted: trusted, now: time.Now}
	if l.clicks == nil && l.failed == nil {
		return next
	}
	l.goodKeys, _ = lru.New[[16]byte, struct{}](maxTrackedSources)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case l.clicks != nil && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/click/"):
			l.click(w, r, next)
		case l.failed != nil && r.Method == http.MethodGet && r.URL.Path == "/postback":
			l.postback(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (l *limits) click(w http.ResponseWriter, r *http.Request, next http.Handler) {
	src, now := l.source(r), l.now()
	if empty, wait := l.clicks.empty(src, now); empty {
		tooMany(w, wait)
		return
	}
	l.clicks.take(src, now)
	next.ServeHTTP(w, r)
}

func (l *limits) postback(w http.ResponseWriter, r *http.Request, next http.Handler) {
	src, now := l.source(r), l.now()
	key := sha256.Sum256([]byte(postback.KeyOf(r.URL.RawQuery)))
	var hash [16]byte
	copy(hash[:], key[:])
	bucket := src
	if l.goodKeys.Contains(hash) {
		bucket = src + " " + string(hash[:])
	}
	if empty, wait := l.failed.empty(bucket, now); empty {
		tooMany(w, wait)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	next.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusForbidden: // bad or missing key, or an address outside the allowlist
		l.goodKeys.Remove(hash)
		l.failed.take(src, now)
	case http.StatusNotFound: // the key is good; the click id or event is not
		l.goodKeys.Add(hash, struct{}{})
		l.failed.take(src+" "+string(hash[:]), now)
	case http.StatusOK, http.StatusBadRequest, http.StatusConflict:
		l.goodKeys.Add(hash, struct{}{})
	}
}

// source is the client address the limits count by: the one clientIP names (TRUSTED_PROXIES
// decides whose X-Forwarded-For is believed), and for IPv6 its /64, which one subscriber holds.
func (l *limits) source(r *http.Request) string { return unmatched.Source(clientIP(r, l.trusted)) }

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	w.Header().Set("Cache-Control", "no-store")
	writeText(w, http.StatusTooManyRequests, "too many requests, retry later")
}
