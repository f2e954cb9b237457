package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lib/pq"
)

// kill9Offers is how many offers the kill -9 phase clicks.
const kill9Offers = 4

// kill9Answers is what the server answered before and while it was killed: each click
// answered 302 (its gk_click_id) and each postback answered "200 accepted".
type kill9Answers struct {
	AccountID int                `json:"accountID"`
	KilledPID int                `json:"killedPID"`
	Clicks    []string           `json:"clicks"`
	Postbacks []answeredPostback `json:"postbacks"`
	// Failed counts the requests that got no answer or a wrong one (those in flight at the
	// kill, then refused connections): nothing was promised for them.
	Failed int `json:"failed"`
	// AfterKill counts answers that came after the kill signal was sent (the process may take
	// a moment to die); they are checked like the others.
	AfterKill int `json:"afterKill"`
}

type answeredPostback struct {
	ClickID      string `json:"clickID"`
	ConversionID string `json:"conversionID"`
}

// kill9Load sends clicks, and a postback for each click answered, on cfg.Concurrency workers
// for cfg.Kill9; halfway it sends SIGKILL to cfg.ServerPID and keeps going until the end, so
// that requests are in flight when the process dies. It writes the answers to cfg.Kill9File.
func kill9Load(ctx context.Context, cfg config, logf func(string, ...any)) error {
	client := newHTTPClient(cfg.Concurrency)
	if err := waitReady(ctx, client, cfg.Server, 30*time.Second); err != nil {
		return err
	}
	runID := time.Now().UTC().Format("20060102T150405")
	keys, err := createAccount(ctx, cfg.DatabaseURL, "gokart-bench kill9 "+runID)
	if err != nil {
		return err
	}
	gql := &gqlClient{http: client, url: cfg.Server + "/query", apiKey: keys.APIKey}
	advertiserID, err := createAdvertiser(ctx, gql)
	if err != nil {
		return err
	}
	offers, err := createOffers(ctx, gql, advertiserID, cfg.OfferType, "bench kill9", kill9Offers)
	if err != nil {
		return err
	}
	ans := kill9Answers{AccountID: keys.ID, KilledPID: cfg.ServerPID}
	var mu sync.Mutex
	var next, failed atomic.Int64
	var killed atomic.Bool
	base := cfg.Server + "/postback?key=" + url.QueryEscape(keys.PostbackKey)
	record := func(click string, pb *answeredPostback) {
		mu.Lock()
		defer mu.Unlock()
		if click != "" {
			ans.Clicks = append(ans.Clicks, click)
		}
		if pb != nil {
			ans.Postbacks = append(ans.Postbacks, *pb)
		}
		if killed.Load() {
			ans.AfterKill++
		}
	}
	fail := func() {
		failed.Add(1)
		// A dead server refuses at once: do not spin.
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	stopAt := start.Add(cfg.Kill9)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(stopAt) {
				i := next.Add(1)
				o := offers[int(i)%len(offers)]
				status, loc, _, err := get(ctx, client, fmt.Sprintf("%s%s?pub_member_id=kill9-m%d&pub_click_id=kill9-c%d", cfg.Server, o.ClickPath, i, i))
				if err != nil || status != 302 {
					fail()
					continue
				}
				id, err := clickIDFromLocation(loc)
				if err != nil {
					fail()
					continue
				}
				record(id, nil)
				pb := answeredPostback{ClickID: id, ConversionID: fmt.Sprintf("%s-kill9-%d", runID, i)}
				status, _, body, err := get(ctx, client, base+"&gk_click_id="+url.QueryEscape(id)+"&cnv_event_id="+url.QueryEscape(convertEvent)+
					"&cnv_conversion_id="+url.QueryEscape(pb.ConversionID)+"&cnv_status=pending&cnv_payout="+benchPayout+"&cnv_currency=USD")
				if err != nil || status != 200 || strings.TrimSpace(body) != "accepted" {
					fail()
					continue
				}
				record("", &pb)
			}
		})
	}
	select {
	case <-time.After(cfg.Kill9 / 2):
	case <-ctx.Done():
	}
	mu.Lock()
	before := len(ans.Clicks) + len(ans.Postbacks)
	killed.Store(true)
	mu.Unlock()
	if err := syscall.Kill(cfg.ServerPID, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d: %w", cfg.ServerPID, err)
	}
	logf("kill -9 sent to the server (pid %d) after %s, with %d answers so far", cfg.ServerPID, time.Since(start).Round(time.Millisecond), before)
	wg.Wait()
	ans.Failed = int(failed.Load())
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(ans)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.Kill9File, b, 0o644); err != nil {
		return err
	}
	logf("kill -9 load: %d clicks and %d postbacks answered, %d requests without an answer, %d answers after the signal; written to %s",
		len(ans.Clicks), len(ans.Postbacks), ans.Failed, ans.AfterKill, cfg.Kill9File)
	return nil
}

// kill9Result is what the database holds of what was answered.
type kill9Result struct {
	ClicksAnswered    int      `json:"clicksAnswered"`
	ClicksFound       int      `json:"clicksFound"`
	PostbacksAnswered int      `json:"postbacksAnswered"`
	PostbacksFound    int      `json:"postbacksFound"`
	Lost              []string `json:"lost,omitempty"`
}

func (r kill9Result) String() string {
	return fmt.Sprintf("kill -9: %d clicks answered, %d found; %d postbacks answered, %d found; lost %d",
		r.ClicksAnswered, r.ClicksFound, r.PostbacksAnswered, r.PostbacksFound, len(r.Lost))
}

// checkAnswers compares the answers with what the database holds: clicks by gk_click_id, and
// conversions by network conversion id with the gk_click_id of their click, which must be the
// one the postback named.
func checkAnswers(a kill9Answers, clicks map[string]bool, conversions map[string]string) kill9Result {
	r := kill9Result{ClicksAnswered: len(a.Clicks), PostbacksAnswered: len(a.Postbacks)}
	for _, id := range a.Clicks {
		if clicks[id] {
			r.ClicksFound++
		} else {
			r.Lost = append(r.Lost, "click "+id)
		}
	}
	for _, pb := range a.Postbacks {
		switch click, ok := conversions[pb.ConversionID]; {
		case !ok:
			r.Lost = append(r.Lost, "postback "+pb.ConversionID)
		case click != pb.ClickID:
			r.Lost = append(r.Lost, fmt.Sprintf("postback %s (on click %s, want %s)", pb.ConversionID, click, pb.ClickID))
		default:
			r.PostbacksFound++
		}
	}
	return r
}

// kill9Check reads the answers of a -kill9 run and looks them up in the database directly.
func kill9Check(ctx context.Context, cfg config) (kill9Result, error) {
	b, err := os.ReadFile(cfg.Kill9Check)
	if err != nil {
		return kill9Result{}, err
	}
	var a kill9Answers
	if err := json.Unmarshal(b, &a); err != nil {
		return kill9Result{}, fmt.Errorf("%s: %w", cfg.Kill9Check, err)
	}
	db, err := sql.Open("postgres", cfg.DatabaseURL)
	if err != nil {
		return kill9Result{}, err
	}
	defer db.Close()
	clicks := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT gk_click_id FROM clicks WHERE account_id = $1 AND gk_click_id = ANY($2)`, a.AccountID, pq.Array(a.Clicks))
	if err != nil {
		return kill9Result{}, fmt.Errorf("look up clicks: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return kill9Result{}, err
		}
		clicks[id] = true
	}
	if err := rows.Close(); err != nil {
		return kill9Result{}, err
	}
	convIDs := make([]string, len(a.Postbacks))
	for i, pb := range a.Postbacks {
		convIDs[i] = pb.ConversionID
	}
	conversions := map[string]string{}
	rows, err = db.QueryContext(ctx, `SELECT v.network_conversion_id, c.gk_click_id FROM conversions v JOIN clicks c ON c.id = v.click_id
WHERE v.account_id = $1 AND v.network_conversion_id = ANY($2)`, a.AccountID, pq.Array(convIDs))
	if err != nil {
		return kill9Result{}, fmt.Errorf("look up conversions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var conv, click string
		if err := rows.Scan(&conv, &click); err != nil {
			return kill9Result{}, err
		}
		conversions[conv] = click
	}
	if err := rows.Err(); err != nil {
		return kill9Result{}, err
	}
	return checkAnswers(a, clicks, conversions), nil
}
