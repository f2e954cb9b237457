package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

func TestAPIKeysAreCreatedListedAndRevoked(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Keys")
		other := srv.NewAccount(t, "Other")

		var made struct {
			CreateAPIKey struct {
				Secret string
				APIKey struct{ ID, Name, Prefix string }
			}
		}
		srv.GraphQL(t, k.APIKey, `mutation { createAPIKey(name: " dashboard ") { secret apiKey { id name prefix } } }`, nil).Decode(t, &made)
		fresh := made.CreateAPIKey
		if fresh.APIKey.Name != "dashboard" || !strings.HasPrefix(fresh.Secret, fresh.APIKey.Prefix) || len(fresh.APIKey.Prefix) != 9 {
			t.Fatalf("createAPIKey = %+v", fresh)
		}
		if r := srv.GraphQL(t, k.APIKey, `mutation { createAPIKey(name: "  ") { secret } }`, nil); len(r.Errors) != 1 ||
			r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != "name" {
			t.Errorf("an empty key name: %+v", r.Errors)
		}

		// The new key works, and its use is stamped.
		var list struct {
			APIKeys []struct {
				ID, Name, Prefix string
				LastUsedAt       *string
				RevokedAt        *string
			}
		}
		srv.GraphQL(t, fresh.Secret, `{ apiKeys { id name prefix lastUsedAt revokedAt } }`, nil).Decode(t, &list)
		if len(list.APIKeys) != 2 || list.APIKeys[0].Name != "default" || list.APIKeys[1].ID != fresh.APIKey.ID ||
			list.APIKeys[1].LastUsedAt == nil || list.APIKeys[1].RevokedAt != nil {
			t.Fatalf("apiKeys = %+v; want the default key, then the new one, used just now", list.APIKeys)
		}

		// Another account cannot revoke it (not found), and does not see it.
		if r := srv.GraphQL(t, other.APIKey, `mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`, map[string]any{"id": fresh.APIKey.ID}); len(r.Errors) != 1 || r.Errors[0].Code() != "NOT_FOUND" {
			t.Errorf("revoking another account's key: %+v", r.Errors)
		}
		srv.GraphQL(t, other.APIKey, `{ apiKeys { id name prefix lastUsedAt revokedAt } }`, nil).Decode(t, &list)
		if len(list.APIKeys) != 1 || list.APIKeys[0].ID == fresh.APIKey.ID {
			t.Errorf("other account's apiKeys = %+v", list.APIKeys)
		}

		// Revoking the key in use is allowed; the next request with it is refused.
		var revoked struct{ RevokeAPIKey struct{ RevokedAt *string } }
		srv.GraphQL(t, fresh.Secret, `mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`, map[string]any{"id": fresh.APIKey.ID}).Decode(t, &revoked)
		if revoked.RevokeAPIKey.RevokedAt == nil {
			t.Fatal("revokeAPIKey returned no revokedAt")
		}
		if r := srv.GraphQL(t, fresh.Secret, `{ viewer { id } }`, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("a revoked key: HTTP %d, want 401", r.Status)
		}
		srv.GraphQL(t, k.APIKey, `{ apiKeys { id name prefix lastUsedAt revokedAt } }`, nil).Decode(t, &list)
		if len(list.APIKeys) != 1 {
			t.Errorf("apiKeys after revoking = %+v; want the revoked key left out", list.APIKeys)
		}
		srv.GraphQL(t, k.APIKey, `{ apiKeys(includeRevoked: true) { id name prefix lastUsedAt revokedAt } }`, nil).Decode(t, &list)
		if len(list.APIKeys) != 2 || list.APIKeys[1].RevokedAt == nil {
			t.Errorf("apiKeys(includeRevoked: true) = %+v", list.APIKeys)
		}
	})
}

func TestUpdateAccountValidatesEveryField(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Settings")
		const m = `mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { name timeZone postbackAllowlist fallbackURL } }`
		for _, tc := range []struct {
			name  string
			input map[string]any
			want  []string
		}{
			{"an unknown time zone", map[string]any{"timeZone": "Mars/Olympus"}, []string{"input.timeZone"}},
			{"the server's Local zone", map[string]any{"timeZone": "Local"}, []string{"input.timeZone"}},
			{"a bad CIDR among good ones", map[string]any{"postbackAllowlist": []string{"10.0.0.0/8", "10.0.0.0/33", "nope"}},
				[]string{"input.postbackAllowlist[1]", "input.postbackAllowlist[2]"}},
			{"a fallback that is not http", map[string]any{"fallbackURL": "javascript:alert(1)"}, []string{"input.fallbackURL"}},
			{"an empty name and a bad zone", map[string]any{"name": " ", "timeZone": ""}, []string{"input.name", "input.timeZone"}},
		} {
			if got := fields(t, srv, k.APIKey, m, map[string]any{"input": tc.input}); !slices.Equal(got, tc.want) {
				t.Errorf("%s: fields %v, want %v", tc.name, got, tc.want)
			}
		}
		var got struct {
			UpdateAccount struct {
				Name, TimeZone, FallbackURL string
				PostbackAllowlist           []string
			}
		}
		srv.GraphQL(t, k.APIKey, m, map[string]any{"input": map[string]any{"name": " Acme ", "timeZone": "Europe/Berlin",
			"postbackAllowlist": []string{"203.0.113.7", "198.51.100.9/24"}, "fallbackURL": "https://acme.example/sorry"}}).Decode(t, &got)
		a := got.UpdateAccount
		if a.Name != "Acme" || a.TimeZone != "Europe/Berlin" || a.FallbackURL != "https://acme.example/sorry" ||
			fmt.Sprint(a.PostbackAllowlist) != "[203.0.113.7/32 198.51.100.0/24]" {
			t.Errorf("updateAccount = %+v", a)
		}
		// Fields left out stay; an empty list clears the allowlist.
		srv.GraphQL(t, k.APIKey, m, map[string]any{"input": map[string]any{"postbackAllowlist": []string{}}}).Decode(t, &got)
		if a := got.UpdateAccount; a.Name != "Acme" || a.TimeZone != "Europe/Berlin" || len(a.PostbackAllowlist) != 0 {
			t.Errorf("after clearing the allowlist: %+v", a)
		}
	})
}

func TestArchivingDraftsEndedOffersAndAdvertisers(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Archivist")
		live := seedOffer(t, db.Client, k.ID, "live", offer.StatusACTIVE, "Sign Up")
		ended := seedOffer(t, db.Client, k.ID, "ended", offer.StatusENDED, "Sign Up")
		d := draft(t, srv, k.APIKey, "SINGLE_EVENT").ID
		const archive = `mutation($id: ID!) { archiveOffer(id: $id) { id archivedAt } }`
		codes := func(q string, id any) []string { return srv.GraphQL(t, k.APIKey, q, map[string]any{"id": id}).Codes() }

		if c := codes(archive, live.ID); !slices.Equal(c, []string{"CONFLICT"}) {
			t.Errorf("archiving an ACTIVE offer: %v, want CONFLICT", c)
		}
		for _, id := range []any{d, ended.ID, d} { // twice: archiving again changes nothing
			if c := codes(archive, id); len(c) > 0 {
				t.Errorf("archiving offer %v: %v", id, c)
			}
		}
		var list struct {
			Offers struct {
				Edges []struct{ Node struct{ Name string } }
			}
		}
		srv.GraphQL(t, k.APIKey, `{ offers(first: 10) { edges { node { name } } } }`, nil).Decode(t, &list)
		if len(list.Offers.Edges) != 1 || list.Offers.Edges[0].Node.Name != "live" {
			t.Errorf("offers = %+v; want only the live one", list.Offers.Edges)
		}
		srv.GraphQL(t, k.APIKey, `{ offers(first: 10, where: {archivedAtNotNil: true}) { edges { node { name } } } }`, nil).Decode(t, &list)
		if len(list.Offers.Edges) != 2 {
			t.Errorf("archived offers = %+v; want the draft and the ended one", list.Offers.Edges)
		}
		if c := codes(`mutation($id: ID!) { publishOffer(id: $id) { id } }`, d); !slices.Contains(c, "CONFLICT") && !slices.Contains(c, "VALIDATION") {
			t.Errorf("publishing an archived draft: %v", c)
		}
		if c := codes(`mutation($id: ID!) { updateOfferCreative(id: $id, input: {headline: "H", callToAction: "Go"}) { id } }`, d); !slices.Equal(c, []string{"CONFLICT"}) {
			t.Errorf("editing an archived draft: %v, want CONFLICT", c)
		}

		// The live offer's brand cannot be archived; the ended one's can, and leaves the list.
		const archiveAdv = `mutation($id: ID!) { archiveAdvertiser(id: $id) { id archivedAt } }`
		if c := codes(archiveAdv, *live.AdvertiserID); !slices.Equal(c, []string{"CONFLICT"}) {
			t.Errorf("archiving a brand with a live offer: %v, want CONFLICT", c)
		}
		if c := codes(archiveAdv, *ended.AdvertiserID); len(c) > 0 {
			t.Errorf("archiving a brand with only an ended offer: %v", c)
		}
		var advs struct {
			Advertisers struct {
				Edges []struct{ Node struct{ Name string } }
			}
		}
		srv.GraphQL(t, k.APIKey, `{ advertisers(first: 10) { edges { node { name } } } }`, nil).Decode(t, &advs)
		if len(advs.Advertisers.Edges) != 1 || advs.Advertisers.Edges[0].Node.Name != "Brand of live" {
			t.Errorf("advertisers = %+v; want only the live offer's brand", advs.Advertisers.Edges)
		}
		// Its name is free again; the archived brand keeps it for history.
		if c := codes(`mutation { createAdvertiser(input: {name: "BRAND OF ENDED"}) { id } }`, nil); len(c) > 0 {
			t.Errorf("reusing an archived brand's name: %v", c)
		}
		d2 := draft(t, srv, k.APIKey, "SINGLE_EVENT").ID
		r := srv.GraphQL(t, k.APIKey, `mutation($id: ID!, $adv: ID!) { updateOfferAdvertiserInfo(id: $id, input: {advertiserID: $adv, trackingLink: "https://x.sjv.io/c/1/2/3"}) { id } }`,
			map[string]any{"id": d2, "adv": *ended.AdvertiserID})
		if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != "input.advertiserID" {
			t.Errorf("choosing an archived brand for a draft: %+v", r.Errors)
		}
	})
}

func TestAdvertiserNamesAreUniquePerAccountIgnoringCase(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Unique")
		other := srv.NewAccount(t, "Elsewhere")
		const create = `mutation($name: String!) { createAdvertiser(input: {name: $name}) { id name } }`
		var first struct{ CreateAdvertiser struct{ ID, Name string } }
		srv.GraphQL(t, k.APIKey, create, map[string]any{"name": "Acme Outdoor"}).Decode(t, &first)

		r := srv.GraphQL(t, k.APIKey, create, map[string]any{"name": "  acme OUTDOOR "})
		if len(r.Errors) != 1 || r.Errors[0].Code() != "CONFLICT" || r.Errors[0].Field() != "input.name" ||
			!strings.Contains(r.Errors[0].Message, `"Acme Outdoor"`) || !strings.Contains(r.Errors[0].Message, first.CreateAdvertiser.ID) {
			t.Errorf("a repeated name: %+v; want CONFLICT naming the existing brand and its id", r.Errors)
		}
		if r := srv.GraphQL(t, other.APIKey, create, map[string]any{"name": "Acme Outdoor"}); len(r.Errors) > 0 {
			t.Errorf("the same name in another account: %+v", r.Errors)
		}
		var second struct{ CreateAdvertiser struct{ ID string } }
		srv.GraphQL(t, k.APIKey, create, map[string]any{"name": "Beta"}).Decode(t, &second)
		r = srv.GraphQL(t, k.APIKey, `mutation($id: ID!) { updateAdvertiser(id: $id, input: {name: "ACME outdoor"}) { id } }`, map[string]any{"id": second.CreateAdvertiser.ID})
		if len(r.Errors) != 1 || r.Errors[0].Code() != "CONFLICT" {
			t.Errorf("renaming onto an existing name: %+v", r.Errors)
		}
		if r := srv.GraphQL(t, k.APIKey, `mutation($id: ID!) { updateAdvertiser(id: $id, input: {name: "acme outdoor"}) { name } }`, map[string]any{"id": first.CreateAdvertiser.ID}); len(r.Errors) > 0 {
			t.Errorf("re-casing a brand's own name: %+v", r.Errors)
		}

		// Concurrent creates of one new name: exactly one wins, the rest are CONFLICT.
		const n = 8
		var wg sync.WaitGroup
		results := make([]apitest.Response, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = srv.GraphQL(t, k.APIKey, create, map[string]any{"name": fmt.Sprintf("Racer%s", strings.Repeat(" ", i%2))})
			}()
		}
		wg.Wait()
		won := 0
		for _, r := range results {
			switch {
			case len(r.Errors) == 0:
				won++
			case len(r.Errors) != 1 || r.Errors[0].Code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, `"Racer"`):
				t.Errorf("a losing concurrent create: HTTP %d %+v; want one CONFLICT naming Racer", r.Status, r.Errors)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent creates of one name succeeded, want exactly 1", won, n)
		}
		// The index, not the resolver's check, is the guarantee: a writer that skips the check fails too.
		_, err := db.Client.Advertiser.Create().SetName("RACER").Save(viewer.ForAccount(context.Background(), k.ID))
		if !ent.IsConstraintError(err) {
			t.Errorf("a direct insert of a taken name: %v, want a constraint error", err)
		}
	})
}
