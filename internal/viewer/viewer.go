// Package viewer carries who is asking through a context: an account authenticated by an API
// or postback key, or the system itself (CLI, migrations, background work). The Ent tenant
// interceptor reads it, so a query without a viewer never sees any row.
package viewer

import "context"

type ctxKey struct{}

// Viewer is the caller of one request.
type Viewer struct {
	// AccountID is the tenant every query is scoped to; zero for the system viewer.
	AccountID int
	// System bypasses tenant scoping. Only code paths that scope by hand (the CLI, the postback
	// path resolving a key to its account) use it.
	System bool
	// Publishable is a publishable key's viewer (gk_pub_…): it may read the offerwall feed of
	// AccountID and nothing else; the GraphQL edge refuses every other field.
	Publishable bool
}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// ForAccount returns ctx scoped to one account.
func ForAccount(ctx context.Context, accountID int) context.Context {
	return NewContext(ctx, Viewer{AccountID: accountID})
}

// AsSystem returns ctx that may read and write every account's rows.
func AsSystem(ctx context.Context) context.Context {
	return NewContext(ctx, Viewer{System: true})
}

// FromContext returns the viewer, and false when the context carries none.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(ctxKey{}).(Viewer)
	return v, ok
}
