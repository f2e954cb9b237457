package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
)

// Offer set-up: the values every bench offer gets.
const (
	benchTrackingLink = "https://bench.sjv.io/c/1/2/3"
	benchBudget       = "1000000000" // never runs out: a case spends 1.50 per conversion
	benchPayout       = "1.50"
	convertEvent      = "Sign Up" // the event each click converts, as cnv_event_id
	setupWorkers      = 8         // offers created at once
)

// createAccount makes the bench account directly in the server's database, as
// `gokart account create` would, and returns its keys.
func createAccount(ctx context.Context, databaseURL, name string) (accounts.Keys, error) {
	db, err := storage.Open(ctx, databaseURL)
	if err != nil {
		return accounts.Keys{}, err
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db.SQL, db.Dialect); err != nil {
		return accounts.Keys{}, fmt.Errorf("migrate: %w", err)
	}
	keys, err := accounts.Create(ctx, db.Client, name)
	if err != nil {
		return accounts.Keys{}, fmt.Errorf("create account: %w", err)
	}
	return keys, nil
}

// gqlClient calls the server's GraphQL API with an API key.
type gqlClient struct {
	http   *http.Client
	url    string
	apiKey string
}

// do runs one operation and decodes its data into out; any GraphQL error fails it.
func (c *gqlClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	var envelope struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Path       []any          `json:"path"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &envelope); err != nil {
		return fmt.Errorf("HTTP %d, body %q: %w", resp.StatusCode, truncate(string(raw), 300), err)
	}
	if len(envelope.Errors) > 0 {
		msgs := make([]string, 0, len(envelope.Errors))
		for _, e := range envelope.Errors {
			msgs = append(msgs, fmt.Sprintf("%s (path %v, extensions %v)", e.Message, e.Path, e.Extensions))
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.Join(msgs, "; "))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d, body %q", resp.StatusCode, truncate(string(raw), 300))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(envelope.Data, out)
}

// benchOffer is a published offer: its id and the path of its click URL on our server.
type benchOffer struct {
	ID        string
	ClickPath string
}

type offerReply struct {
	ID       string
	Status   string
	ClickURL *string
	Events   []struct{ ID, EventID string }
}

const offerFields = `id status clickURL events { id eventID }`

// createAdvertiser makes the one brand every bench offer belongs to.
func createAdvertiser(ctx context.Context, c *gqlClient) (string, error) {
	var out struct{ CreateAdvertiser struct{ ID string } }
	err := c.do(ctx, `mutation($input: CreateAdvertiserInput!) { createAdvertiser(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"name": "Bench Brand", "website": "https://bench.example"}}, &out)
	if err != nil {
		return "", fmt.Errorf("createAdvertiser: %w", err)
	}
	return out.CreateAdvertiser.ID, nil
}

// createOffers runs the wizard for n offers, a few at a time, and publishes them.
func createOffers(ctx context.Context, c *gqlClient, advertiserID, offerType, namePrefix string, n int) ([]benchOffer, error) {
	offers := make([]benchOffer, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(setupWorkers, n) {
		wg.Go(func() {
			for i := range next {
				offers[i], errs[i] = createOffer(ctx, c, advertiserID, offerType, fmt.Sprintf("%s %d", namePrefix, i+1))
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("offer %d of %d: %w", i+1, n, err)
		}
	}
	return offers, nil
}

// createOffer goes through every wizard step for one Impact offer and publishes it.
func createOffer(ctx context.Context, c *gqlClient, advertiserID, offerType, name string) (benchOffer, error) {
	step := func(field, argDecl, args string, vars map[string]any) (offerReply, error) {
		var out map[string]offerReply
		q := fmt.Sprintf(`mutation(%s) { %s(%s) { %s } }`, argDecl, field, args, offerFields)
		if err := c.do(ctx, q, vars, &out); err != nil {
			return offerReply{}, fmt.Errorf("%s: %w", field, err)
		}
		return out[field], nil
	}
	typ := "MULTI_EVENT"
	if offerType == "single" {
		typ = "SINGLE_EVENT"
	}
	o, err := step("createOffer", "$input: CreateOfferInput!", "input: $input", map[string]any{
		"input": map[string]any{"type": typ, "integrationSystem": "IMPACT", "name": name}})
	if err != nil {
		return benchOffer{}, err
	}
	id := o.ID
	if _, err := step("updateOfferAdvertiserInfo", "$id: ID!, $input: AdvertiserInfoInput!", "id: $id, input: $input", map[string]any{
		"id": id, "input": map[string]any{"advertiserID": advertiserID, "trackingLink": benchTrackingLink}}); err != nil {
		return benchOffer{}, err
	}
	if _, err := step("updateOfferCreative", "$id: ID!, $input: OfferCreativeInput!", "id: $id, input: $input", map[string]any{
		"id": id, "input": map[string]any{"headline": "Sign up and earn", "callToAction": "Sign up",
			"imageURLs": []string{"https://bench.example/card.png"}}}); err != nil {
		return benchOffer{}, err
	}
	budget := map[string]any{"currency": "USD", "totalBudget": benchBudget, "oneCompletionPerMember": false}
	if offerType == "single" {
		budget["payout"] = benchPayout
	}
	o, err = step("updateOfferBudgetTargeting", "$id: ID!, $input: OfferBudgetTargetingInput!", "id: $id, input: $input",
		map[string]any{"id": id, "input": budget})
	if err != nil {
		return benchOffer{}, err
	}
	events := []map[string]any{
		{"name": convertEvent, "eventID": convertEvent, "payout": benchPayout},
		{"name": "Purchase", "eventID": "Purchase", "payout": "5.00"},
	}
	if offerType == "single" {
		if len(o.Events) != 1 {
			return benchOffer{}, fmt.Errorf("single-event offer %s has %d events, want 1", id, len(o.Events))
		}
		events = []map[string]any{{"id": o.Events[0].ID, "name": convertEvent, "eventID": convertEvent, "payout": benchPayout}}
	}
	if _, err := step("setOfferEvents", "$id: ID!, $events: [OfferEventInput!]!", "id: $id, events: $events",
		map[string]any{"id": id, "events": events}); err != nil {
		return benchOffer{}, err
	}
	o, err = step("publishOffer", "$id: ID!", "id: $id", map[string]any{"id": id})
	if err != nil {
		return benchOffer{}, err
	}
	if o.Status != "ACTIVE" {
		return benchOffer{}, fmt.Errorf("published offer %s is %s, want ACTIVE", id, o.Status)
	}
	// Click through our -server, whatever BASE_URL the server was given: only the path counts.
	path := "/click/" + url.PathEscape(id)
	if o.ClickURL != nil {
		if u, err := url.Parse(*o.ClickURL); err == nil && u.Path != "" {
			path = u.EscapedPath()
		}
	}
	return benchOffer{ID: id, ClickPath: path}, nil
}

// waitReady polls /readyz until the server answers 200.
func waitReady(ctx context.Context, client *http.Client, server string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	start := time.Now()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/readyz not ready after %s (last: %s)", server, time.Since(start).Round(100*time.Millisecond), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
