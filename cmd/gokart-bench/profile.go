package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// measureProfiled is measure with the server's CPU profile taken meanwhile (when -pprof is
// set and name is not empty): the profile covers the phase's first -profile-seconds and is saved
// as <-profile-dir>/<name>.pprof. The phase ends only when the profile is in, so that a short
// phase's profile does not run into the next one (an idle server adds no samples).
func measureProfiled(ctx context.Context, cfg config, n int, limit time.Duration, do doer, name string, logf func(string, ...any)) Phase {
	if cfg.PprofURL == "" || name == "" || n == 0 {
		return measure(ctx, cfg, n, limit, do)
	}
	done := make(chan error, 1)
	path := filepath.Join(cfg.ProfileDir, name+".pprof")
	go func() { done <- fetchProfile(ctx, cfg.PprofURL, cfg.ProfileSeconds, path) }()
	p := measure(ctx, cfg, n, limit, do)
	if err := <-done; err != nil {
		logf("profile %s: %v", name, err)
	} else {
		p.Profile = path
	}
	return p
}

// fetchProfile saves a CPU profile of the given length from a net/http/pprof server.
func fetchProfile(ctx context.Context, pprofURL string, seconds int, path string) error {
	u := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofURL, seconds)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("GET %s: %s %q", u, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
