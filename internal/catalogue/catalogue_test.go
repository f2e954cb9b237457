package catalogue

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// noPublisherPostback lists the systems whose documentation describes no postback to
// publishers, so they legitimately have no click-id macro. Adding a system here needs a source
// saying so in its row.
var noPublisherPostback = []Code{CJ}

func TestAllListsTheSystemsInDropdownOrder(t *testing.T) {
	want := []Code{Impact, Everflow, Tune, Cake, Affise, Awin, Rakuten, CJ, ShareASale, AdGem, Custom}
	var got []Code
	for _, s := range All() {
		got = append(got, s.Code)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("All() codes = %v, want %v", got, want)
	}
}

func TestAllHasEachCodeOnce(t *testing.T) {
	seen := map[Code]bool{}
	for _, s := range All() {
		if seen[s.Code] {
			t.Errorf("code %s appears twice", s.Code)
		}
		seen[s.Code] = true
	}
}

func TestCodesAreUpperCaseEnumValues(t *testing.T) {
	for _, s := range All() {
		if string(s.Code) != strings.ToUpper(string(s.Code)) || s.Code == "" {
			t.Errorf("code %q is not an upper-case enum value", s.Code)
		}
	}
}

func TestOnlyCustomIsCustom(t *testing.T) {
	for _, s := range All() {
		if s.Custom != (s.Code == Custom) {
			t.Errorf("%s: Custom = %v", s.Code, s.Custom)
		}
	}
}

func TestEveryNonCustomSystemHasAClickIDParamAndMacro(t *testing.T) {
	for _, s := range All() {
		if s.Custom {
			continue
		}
		if s.ClickIDParam == "" {
			t.Errorf("%s has no ClickIDParam", s.Code)
		}
		if s.Macros.ClickID == "" && !slices.Contains(noPublisherPostback, s.Code) {
			t.Errorf("%s has no ClickID macro", s.Code)
		}
		if s.Macros.ClickID != "" && slices.Contains(noPublisherPostback, s.Code) {
			t.Errorf("%s has a ClickID macro but is listed as having no publisher postback", s.Code)
		}
	}
}

func TestSystemsWithoutClickIDMacroHaveNoOtherMacros(t *testing.T) {
	// A postback the network cannot tie to a click is useless, so a row without a click-id
	// macro should not pretend to support the other parameters.
	for _, s := range All() {
		if s.Macros.ClickID == "" && s.Macros != (Macros{}) {
			t.Errorf("%s has macros %+v but no ClickID macro", s.Code, s.Macros)
		}
	}
}

func TestClickIDParamsAreSafeParameterNames(t *testing.T) {
	// The same rule the tracking package applies before appending the parameter to a link.
	for _, s := range All() {
		if strings.Trim(s.ClickIDParam, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-") != "" {
			t.Errorf("%s: ClickIDParam %q needs escaping", s.Code, s.ClickIDParam)
		}
	}
}

func TestEverySystemHasADisplayNameSourcesAndAPositiveMaxLength(t *testing.T) {
	for _, s := range All() {
		if s.DisplayName == "" {
			t.Errorf("%s has no DisplayName", s.Code)
		}
		if len(s.Sources) == 0 {
			t.Errorf("%s has no Sources", s.Code)
		}
		if s.MaxClickIDLength <= 0 {
			t.Errorf("%s: MaxClickIDLength = %d", s.Code, s.MaxClickIDLength)
		}
	}
}

func TestStatusWordsAreLowerCaseAndTrimmed(t *testing.T) {
	for _, s := range All() {
		for w := range s.StatusWords {
			if w != strings.ToLower(strings.TrimSpace(w)) || w == "" {
				t.Errorf("%s: status word %q is not lower-cased and trimmed", s.Code, w)
			}
		}
	}
}

func TestSystemsWithAStatusMacroHaveStatusWords(t *testing.T) {
	for _, s := range All() {
		if s.Macros.Status != "" && len(s.StatusWords) == 0 {
			t.Errorf("%s sends %s but maps no status words", s.Code, s.Macros.Status)
		}
	}
}

func TestLookupFindsEverySystemAndRefusesUnknownCodes(t *testing.T) {
	for _, s := range All() {
		got, ok := Lookup(s.Code)
		if !ok || got.Code != s.Code {
			t.Errorf("Lookup(%s) = %v, %v", s.Code, got.Code, ok)
		}
	}
	for _, c := range []Code{"", "impact", "NOPE"} {
		if _, ok := Lookup(c); ok {
			t.Errorf("Lookup(%q) found a system", c)
		}
	}
}

func TestChangingAReturnedSystemDoesNotChangeTheCatalogue(t *testing.T) {
	s, _ := Lookup(Impact)
	s.StatusWords["pending"] = Reversed
	s.Sources[0] = "changed"
	all := All()
	all[0].StatusWords["approved"] = Reversed

	again, _ := Lookup(Impact)
	if again.StatusWords["pending"] != Pending || again.StatusWords["approved"] != Approved {
		t.Errorf("catalogue status words changed: %v", again.StatusWords)
	}
	if again.Sources[0] == "changed" {
		t.Error("catalogue sources changed")
	}
}

func TestMapStatusTranslatesEachSystemsWords(t *testing.T) {
	tests := []struct {
		code Code
		word string
		want Status
	}{
		{Impact, "pending", Pending},
		{Impact, "APPROVED", Approved},
		{Impact, "  Reversed ", Reversed},
		{Affise, "1", Approved},
		{Affise, "2", Pending},
		{Affise, "3", Reversed},
		{Affise, " 5 ", Pending},
		{Custom, "Approved", Approved},
	}
	for _, tt := range tests {
		s, _ := Lookup(tt.code)
		got, ok := s.MapStatus(tt.word)
		if !ok || got != tt.want {
			t.Errorf("%s.MapStatus(%q) = %q, %v; want %q, true", tt.code, tt.word, got, ok, tt.want)
		}
	}
}

func TestMapStatusUnderstandsEveryListedWordInAnyCase(t *testing.T) {
	for _, s := range All() {
		for w, want := range s.StatusWords {
			for _, form := range []string{w, strings.ToUpper(w), " " + w + "\t"} {
				if got, ok := s.MapStatus(form); !ok || got != want {
					t.Errorf("%s.MapStatus(%q) = %q, %v; want %q", s.Code, form, got, ok, want)
				}
			}
		}
	}
}

func TestMapStatusRefusesUnknownAndEmptyWords(t *testing.T) {
	for _, s := range All() {
		for _, w := range []string{"", "   ", "unknown", "4", "rejected?"} {
			if got, ok := s.MapStatus(w); ok || got != "" {
				t.Errorf("%s.MapStatus(%q) = %q, %v; want \"\", false", s.Code, w, got, ok)
			}
		}
	}
}

func TestImpactPostbackURLIsExactlyOurDesign(t *testing.T) {
	s, _ := Lookup(Impact)
	want := "https://gk.example/postback?key=k&gk_click_id={SubId1}&cnv_event_id={ActionTrackerName}" +
		"&cnv_conversion_id={ActionId}&cnv_status={Status}&cnv_payout={Payout}&cnv_amount={Amount}&cnv_currency={Currency}"
	if got := s.PostbackURL("https://gk.example/", "k", nil); got != want {
		t.Errorf("PostbackURL =\n %s\nwant\n %s", got, want)
	}
}

func TestPostbackURLHandlesTheBaseURLsTrailingSlash(t *testing.T) {
	s, _ := Lookup(Impact)
	want := s.PostbackURL("https://gk.example", "k", nil)
	for _, base := range []string{"https://gk.example/", "https://gk.example//"} {
		if got := s.PostbackURL(base, "k", nil); got != want {
			t.Errorf("PostbackURL(%q) = %s, want %s", base, got, want)
		}
	}
	if got := s.PostbackURL("https://gk.example/app/", "k", nil); !strings.HasPrefix(got, "https://gk.example/app/postback?key=k&") {
		t.Errorf("PostbackURL under a path prefix = %s", got)
	}
}

func TestPostbackURLPutsAFixedEventIDInPlaceOfTheMacro(t *testing.T) {
	tests := []struct {
		event string
		want  string
	}{
		{"Sign Up", "cnv_event_id=Sign%20Up&"},
		{"a&b=c+d", "cnv_event_id=a%26b%3Dc%2Bd&"},
		{"Café/1?", "cnv_event_id=Caf%C3%A9%2F1%3F&"},
	}
	s, _ := Lookup(Impact)
	for _, tt := range tests {
		got := s.PostbackURL("https://gk.example/", "k", &tt.event)
		if !strings.Contains(got, "&"+tt.want) {
			t.Errorf("event %q: PostbackURL = %s, want it to contain %s", tt.event, got, tt.want)
		}
		if strings.Contains(got, "{ActionTrackerName}") {
			t.Errorf("event %q: macro still present in %s", tt.event, got)
		}
		q, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		if v := q.Query().Get("cnv_event_id"); v != tt.event {
			t.Errorf("event %q decodes as %q", tt.event, v)
		}
	}
}

func TestPostbackURLGivesAFixedEventIDEvenWhenTheNetworkHasNoEventMacro(t *testing.T) {
	s, _ := Lookup(Cake)
	ev := "Sign Up"
	got := s.PostbackURL("https://gk.example", "k", &ev)
	want := "https://gk.example/postback?key=k&gk_click_id=#s2#&cnv_event_id=Sign%20Up&cnv_conversion_id=#leadid#&cnv_payout=#price#"
	if got != want {
		t.Errorf("PostbackURL = %s, want %s", got, want)
	}
}

func TestPostbackURLTreatsAnEmptyEventIDAsNone(t *testing.T) {
	s, _ := Lookup(Impact)
	empty := ""
	if got, want := s.PostbackURL("https://gk.example", "k", &empty), s.PostbackURL("https://gk.example", "k", nil); got != want {
		t.Errorf("PostbackURL with empty event = %s, want %s", got, want)
	}
}

func TestPostbackURLEscapesKeysWithSpecialCharacters(t *testing.T) {
	tests := []struct {
		key, want string
	}{
		{"k", "key=k&"},
		{"a b", "key=a+b&"},
		{"a&b=c", "key=a%26b%3Dc&"},
		{"x/y?z#", "key=x%2Fy%3Fz%23&"},
		{"é+%", "key=%C3%A9%2B%25&"},
	}
	s, _ := Lookup(Everflow)
	for _, tt := range tests {
		got := s.PostbackURL("https://gk.example", tt.key, nil)
		if !strings.HasPrefix(got, "https://gk.example/postback?"+tt.want) {
			t.Errorf("key %q: PostbackURL = %s, want it to start with ...?%s", tt.key, got, tt.want)
		}
		q, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		if v := q.Query().Get("key"); v != tt.key {
			t.Errorf("key %q decodes as %q", tt.key, v)
		}
	}
}

func TestPostbackURLOmitsParametersWithoutAMacro(t *testing.T) {
	s, _ := Lookup(Cake)
	got := s.PostbackURL("https://gk.example", "k", nil)
	want := "https://gk.example/postback?key=k&gk_click_id=#s2#&cnv_conversion_id=#leadid#&cnv_payout=#price#"
	if got != want {
		t.Errorf("PostbackURL = %s, want %s", got, want)
	}
}

func TestPostbackURLKeepsEverySystemsMacrosLiteralAndInOrder(t *testing.T) {
	order := []string{"gk_click_id", "cnv_event_id", "cnv_conversion_id", "cnv_status", "cnv_payout", "cnv_amount", "cnv_currency"}
	for _, s := range All() {
		got := s.PostbackURL("https://gk.example", "k", nil)
		m := s.Macros
		macros := []string{m.ClickID, m.EventID, m.ConversionID, m.Status, m.Payout, m.Amount, m.Currency}
		want := "https://gk.example/postback?key=k"
		for i, name := range order {
			if macros[i] != "" {
				want += "&" + name + "=" + macros[i]
			}
		}
		if got != want {
			t.Errorf("%s: PostbackURL = %s, want %s", s.Code, got, want)
		}
	}
}

func TestCustomStartsEmptyAndTakesTheAccountsValues(t *testing.T) {
	c, ok := Lookup(Custom)
	if !ok {
		t.Fatal("no CUSTOM system")
	}
	if c.ClickIDParam != "" || c.Macros != (Macros{}) {
		t.Fatalf("CUSTOM row is not empty: %q %+v", c.ClickIDParam, c.Macros)
	}
	if got := c.PostbackURL("https://gk.example", "k", nil); got != "https://gk.example/postback?key=k" {
		t.Errorf("empty CUSTOM PostbackURL = %s", got)
	}

	m := Macros{ClickID: "[cid]", Status: "%STATUS%", Payout: "{p}"}
	o := c.WithOverrides("clk", m)
	if o.ClickIDParam != "clk" || o.Macros != m || o.Code != Custom || !o.Custom {
		t.Errorf("WithOverrides = %+v", o)
	}
	if got, want := o.PostbackURL("https://gk.example", "k", nil), "https://gk.example/postback?key=k&gk_click_id=[cid]&cnv_status=%STATUS%&cnv_payout={p}"; got != want {
		t.Errorf("overridden PostbackURL = %s, want %s", got, want)
	}
	if again, _ := Lookup(Custom); again.ClickIDParam != "" || again.Macros != (Macros{}) {
		t.Error("WithOverrides changed the catalogue")
	}
	o.StatusWords["pending"] = Reversed
	if again, _ := Lookup(Custom); again.StatusWords["pending"] != Pending {
		t.Error("an overridden copy shares its status words with the catalogue")
	}
}
