package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/viewer"
)

// db is the client a resolver must use: the mutation's transaction when there is one (on
// SQLite the transaction holds the only connection), the root client otherwise.
func (r *Resolver) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.client
}

type opCacheKey struct{}

// opCache is what the resolvers of one operation share, so that a page of 100 offers reads the
// viewer's account, the offers' spend and their reports once rather than per offer. It lives
// and dies with the operation's context.
type opCache struct {
	mu  sync.Mutex
	acc *ent.Account

	spendMu sync.Mutex
	spend   map[*graphql.FieldContext]*spendBatch // per root field: a mutation may move spend

	stats opStats

	availMu sync.Mutex
	avail   map[*graphql.FieldContext]*availBatch // per root field, like spend
}

// WithOperationCache is an operation middleware that gives each operation its own cache.
func WithOperationCache(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, opCacheKey{}, newOpCache()))
}

func newOpCache() *opCache {
	return &opCache{
		spend: map[*graphql.FieldContext]*spendBatch{},
		stats: opStats{batches: map[statsBatchKey]*statsBatch{}},
		avail: map[*graphql.FieldContext]*availBatch{},
	}
}

// opCacheOf returns the operation's cache; outside an operation with the middleware, a fresh
// one (correct, only not shared).
func opCacheOf(ctx context.Context) *opCache {
	if c, ok := ctx.Value(opCacheKey{}).(*opCache); ok {
		return c
	}
	return newOpCache()
}

// viewerID returns the id of the account of the API key in use.
func viewerID(ctx context.Context) (int, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.System {
		return 0, accounts.ErrUnauthenticated
	}
	return v.AccountID, nil
}

// viewerAccount returns the account of the API key in use.
func (r *Resolver) viewerAccount(ctx context.Context) (*ent.Account, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.System {
		return nil, accounts.ErrUnauthenticated
	}
	cache := opCacheOf(ctx)
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.acc != nil {
		return cache.acc, nil
	}
	acc, err := r.db(ctx).Account.Get(ctx, v.AccountID)
	if err != nil {
		return nil, err
	}
	cache.acc = acc
	return acc, nil
}

// forgetAccount drops the cached account after it changed.
func forgetAccount(ctx context.Context) {
	cache := opCacheOf(ctx)
	cache.mu.Lock()
	cache.acc = nil
	cache.mu.Unlock()
}

// fieldErrors reports every invalid field of a wizard step as its own GraphQL error, so a form
// can mark them all at once; the last one is returned as the resolver's error.
func fieldErrors(ctx context.Context, err error) error {
	list, ok := err.(errcode.List)
	if !ok || len(list) == 0 {
		return err
	}
	for _, e := range list[:len(list)-1] {
		graphql.AddError(ctx, e)
	}
	return list[len(list)-1]
}
