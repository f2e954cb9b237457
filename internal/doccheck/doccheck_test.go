// Package doccheck keeps the README and the guides in docs/ true: every GraphQL operation they
// show is validated against the schema, and every curl line runs against a real server.
package doccheck

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/vektah/gqlparser/v2"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/graph/generated"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/viewer"
)

// guides are the documents whose commands must work.
func guides(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	if len(out) < 2 {
		t.Fatalf("found only %d documents", len(out))
	}
	return out
}

var fence = regexp.MustCompile("(?s)```(\\w*)\\n(.*?)```")

// blocks returns the fenced code blocks of a language.
func blocks(doc, lang string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(doc, -1) {
		if m[1] == lang {
			out = append(out, m[2])
		}
	}
	return out
}

func TestEveryGraphQLOperationInTheDocsIsValid(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	n := 0
	for name, doc := range guides(t) {
		for _, op := range blocks(doc, "graphql") {
			n++
			if _, errs := gqlparser.LoadQuery(schema, op); len(errs) > 0 {
				t.Errorf("%s: operation does not validate: %v\n%s", name, errs, op)
			}
		}
	}
	if n < 5 {
		t.Errorf("found only %d GraphQL operations in the docs", n)
	}
}

var shellVarFromCurl = regexp.MustCompile(`^[A-Z_]+=\$\(curl `)

// curlScripts returns what to run of each shell block, continuation lines joined: a block made
// only of curl commands (and variables set from curl) runs whole, so later lines can use what
// earlier ones set; from any other block each curl line runs alone.
func curlScripts(doc string) []string {
	var out []string
	for _, b := range blocks(doc, "sh") {
		joined := strings.ReplaceAll(b, "\\\n", " ")
		var curls []string
		onlyCurl := true
		for _, line := range strings.Split(joined, "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "":
			case strings.HasPrefix(line, "curl "), shellVarFromCurl.MatchString(line):
				curls = append(curls, line)
			default:
				onlyCurl = false
			}
		}
		switch {
		case len(curls) == 0:
		case onlyCurl:
			out = append(out, strings.Join(curls, "\n"))
		default:
			for _, c := range curls {
				if strings.HasPrefix(c, "curl ") {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func TestEveryCurlLineInTheDocsWorks(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: the docs' commands cannot be checked (apt-get install curl)")
	}
	db := dbtest.Open(t, dialect.SQLite)
	srv := apitest.Start(t, db)
	keys, err := accounts.Demo(context.Background(), db.Client)
	if err != nil {
		t.Fatal(err)
	}
	multi := db.Client.Offer.Query().Where(offer.TypeEQ(offer.TypeMULTI_EVENT)).OnlyX(viewer.ForAccount(context.Background(), keys.ID))
	u, _ := url.Parse(srv.URL)
	env := append(os.Environ(),
		"API_KEY="+keys.APIKey, "POSTBACK_KEY="+keys.PostbackKey, fmt.Sprintf("OFFER_ID=%d", multi.ID))
	n := 0
	for name, doc := range guides(t) {
		for _, cmd := range curlScripts(doc) {
			n++
			// The guides speak of a server on localhost:8080; this one listens elsewhere. Every
			// curl fails on an HTTP error, and the script on the first failing line.
			script := "set -e\ncurl() { command curl --fail-with-body --max-time 10 \"$@\"; }\n" +
				strings.ReplaceAll(cmd, "localhost:8080", u.Host)
			c := exec.Command("sh", "-c", script)
			c.Env = env
			out, err := c.CombinedOutput()
			if err != nil {
				t.Errorf("%s: %s\nfailed: %v\n%s", name, cmd, err, out)
			} else if strings.Contains(string(out), `"errors"`) {
				t.Errorf("%s: %s\nanswered with errors: %s", name, cmd, out)
			}
		}
	}
	if n < 3 {
		t.Errorf("found only %d curl lines in the docs", n)
	}
}
