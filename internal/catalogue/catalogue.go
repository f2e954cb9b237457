// Package catalogue is the catalogue of "integration systems": the affiliate networks a brand
// can track an offer through. For each network it records the parameter we append to the
// tracking link to carry our click id, the network's own macro for each of our postback
// parameters, the network's status words, and where that knowledge comes from.
//
// The catalogue is data, not code: one table (catalogue, below) in dropdown order. Adding or
// correcting a network means editing its row; nothing else switches on the code.
//
// Our postback URL carries these parameters, in this order:
//
//	gk_click_id, cnv_event_id, cnv_conversion_id, cnv_status, cnv_payout, cnv_amount, cnv_currency
//
// Summary of the table (see each row's Sources for the pages and the exact caveats).
// "unconfirmed" means the value could not be checked against the network's own documentation
// during research; such values are either "" (omitted from the postback URL) or the most likely
// value, flagged in a comment and in Sources.
//
//	System      Click-id param  Click-id macro     Status macro / words                 Max len  Confirmed?
//	IMPACT      subid1 (1)      {SubId1}           {Status}: pending approved reversed  64 (2)   macros fixed by design; states from Impact's API docs
//	EVERFLOW    sub1            {sub1}             none                                 600      sub1 and length official; payout/amount/event macros unconfirmed
//	TUNE        aff_click_id    {aff_click_id}     none                                 64 (2)   param official; macro spellings mostly unconfirmed
//	CAKE        s2              #s2#               none                                 100      official token list (s1 is reserved for sub-affiliates)
//	AFFISE      sub1            {sub1}             {status}: 1 2 3 5                    64 (2)   official affiliate-postback macro list
//	AWIN        clickref        !!!clickRef!!!     none                                 250      clickRef/commission official; others unconfirmed
//	RAKUTEN     u1              <u1>               none                                 72       u1 and length official; field names partly unconfirmed
//	CJ          sid             "" (no postback)   none                                 30 (2)   CJ offers no publisher postback in its docs
//	SHAREASALE  afftrack        !!afftrack!!       none                                 255      third-party sources only (postback by request)
//	ADGEM       playerid        {player_id}        none                                 64 (2)   mostly unconfirmed
//	CUSTOM      set per offer   set per offer      our own words                        64 (2)   not a network
//
//	(1) Fixed by our design. Impact's own pages spell it subId1.
//	(2) Unconfirmed limit: a conservative value, see the row's comment.
package catalogue

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Code identifies an integration system. Its values are the upper-case enum values stored on an
// offer (they match the integration_system enum of the offer schema).
type Code string

// The integration systems, in dropdown order.
const (
	Impact     Code = "IMPACT"
	Everflow   Code = "EVERFLOW"
	Tune       Code = "TUNE"
	Cake       Code = "CAKE"
	Affise     Code = "AFFISE"
	Awin       Code = "AWIN"
	Rakuten    Code = "RAKUTEN"
	CJ         Code = "CJ"
	ShareASale Code = "SHAREASALE"
	AdGem      Code = "ADGEM"
	Custom     Code = "CUSTOM"
)

// Status is one of our conversion statuses.
type Status string

// Our conversion statuses.
const (
	Pending  Status = "PENDING"
	Approved Status = "APPROVED"
	Reversed Status = "REVERSED"
)

// Macros holds a network's own macro for each of our postback parameters, written exactly as the
// network expects it in a postback URL (braces, hashes or bangs included). "" means the network
// has no macro for that parameter (or none could be confirmed), and the parameter is left out of
// the postback URL.
type Macros struct {
	ClickID      string // gk_click_id: echoes the value we put in ClickIDParam
	EventID      string // cnv_event_id: the network's event, goal or action-tracker name
	ConversionID string // cnv_conversion_id: the network's id of the conversion
	Status       string // cnv_status: a word that System.MapStatus understands
	Payout       string // cnv_payout: the commission paid for the conversion
	Amount       string // cnv_amount: the sale amount
	Currency     string // cnv_currency: the currency of the amounts
}

// System is one integration system of the catalogue.
type System struct {
	Code        Code
	DisplayName string
	// ClickIDParam is the tracking-link parameter we set to our click id.
	ClickIDParam string
	Macros       Macros
	// StatusWords maps the network's status words, lower-cased, to our statuses. It is empty
	// for networks whose postbacks carry no status (no status macro).
	StatusWords map[string]Status
	// MaxClickIDLength is the longest value the network keeps in ClickIDParam. Where the
	// network documents no limit it is a conservative guess (see the row's comment).
	MaxClickIDLength int
	// Sources lists the pages the row is based on, and notes on what could not be confirmed.
	Sources []string
	// Custom is set for CUSTOM only: the account sets ClickIDParam and Macros per offer, see
	// WithOverrides.
	Custom bool
}

// conservativeMaxLength is used where a network documents no limit for its click-id parameter.
// Values up to this length fitted every limit that was documented.
const conservativeMaxLength = 64

// catalogue is the table of integration systems, in dropdown order: IMPACT first, CUSTOM last.
var catalogue = []System{
	{
		Code:         Impact,
		DisplayName:  "Impact (formerly Impact Radius)",
		ClickIDParam: "subid1", // fixed by our design; Impact's own pages write subId1
		Macros: Macros{ // fixed by our design
			ClickID:      "{SubId1}",
			EventID:      "{ActionTrackerName}",
			ConversionID: "{ActionId}",
			Status:       "{Status}",
			Payout:       "{Payout}",
			Amount:       "{Amount}",
			Currency:     "{Currency}",
		},
		// The action states documented for Impact's Action object.
		StatusWords: map[string]Status{
			"pending":  Pending,
			"approved": Approved,
			"reversed": Reversed,
		},
		// Unconfirmed: the Sub ID character-limit answer of Impact's partner FAQ could not be
		// read; Impact documents 255 characters for Shared ID and Param parameters.
		MaxClickIDLength: conservativeMaxLength,
		Sources: []string{
			"https://integrations.impact.com/impact-brand/reference/action-object (State: PENDING, APPROVED, REVERSED; ActionTrackerName, Payout, Amount, Currency)",
			"https://help.impact.com/en/support/solutions/articles/155000000882-enable-action-clearing-events-notification ({ActionTrackerName}, {ActionId}, {Status}, {Payout}, {Amount}, {Currency})",
			"https://help.impact.com/en/support/solutions/articles/48001235417-sub-id-shared-id-parameters-explained-for-partners (subId1 on tracking links)",
			"https://help.impact.com/en/support/solutions/articles/155000000123-guide-to-query-string-parameters (255-character limit for Shared ID and Param)",
			"unconfirmed: Sub ID length limit; 64 used conservatively",
		},
	},
	{
		Code:         Everflow,
		DisplayName:  "Everflow",
		ClickIDParam: "sub1",
		Macros: Macros{
			ClickID: "{sub1}",
			// Unconfirmed: listed as a partner-postback macro by a third-party catalogue only.
			EventID: "{event_name}",
			// Everflow's click id; it is per click, so the base conversion and later events
			// of the same click share it.
			ConversionID: "{transaction_id}",
			Status:       "",
			// Unconfirmed: Everflow's macro table could not be read; {payout_amount} is the
			// spelling used by third-party guides.
			Payout: "{payout_amount}",
			// Unconfirmed: listed by a third-party catalogue only.
			Amount:   "{sale_amount}",
			Currency: "", // unconfirmed: no currency macro found
		},
		MaxClickIDLength: 600, // Everflow: sub1-sub5 are limited to 600 characters
		Sources: []string{
			"https://helpdesk.everflow.io/en/articles/6173403-a-guide-to-parameters-and-macros (sub1 in partner postbacks; macros in curly brackets; {transaction_id})",
			"https://developers.everflow.io/ai-automation/mcp/limits (sub1-sub5: 600 characters)",
			"https://mrpostback.com/everflow/ (third party: {transaction_id} is the click id, {event_name}, {sale_amount})",
			"unconfirmed: {payout_amount}, {sale_amount}, {event_name} not checked against Everflow's own macro table; no currency or status macro found",
		},
	},
	{
		Code:        Tune,
		DisplayName: "TUNE (HasOffers)",
		// TUNE keeps aff_sub for non-unique values and asks for the partner click id parameter
		// for unique ones such as click ids.
		ClickIDParam: "aff_click_id",
		Macros: Macros{
			// Unconfirmed spelling: TUNE names the parameter aff_click_id and returns stored
			// values through macros; its macro table could not be read.
			ClickID:      "{aff_click_id}",
			EventID:      "", // unconfirmed: a goal-name macro exists in TUNE but was not confirmed
			ConversionID: "{transaction_id}",
			Status:       "",
			Payout:       "{payout}", // unconfirmed: third-party guides only
			// Unconfirmed meaning: TUNE's own example partner conversion link sends
			// amount={amount}; whether {amount} is the sale amount was not confirmed.
			Amount:   "{amount}",
			Currency: "", // unconfirmed: no currency macro found
		},
		MaxClickIDLength: conservativeMaxLength, // unconfirmed: no documented limit found
		Sources: []string{
			"https://support.tune.com/hc/en-us/articles/1500005236722-Customizing-a-Partner-Tracking-Link (aff_sub is for non-unique values; use the partner click id for click ids)",
			"https://support.tune.com/hc/en-us/articles/1500008248741-Passing-Values-to-a-Partner-Conversion-URL (aff_click_id on partner tracking links)",
			"https://support.tune.com/hc/en-us/articles/1500005137081-Basics-of-Parameters-and-Macros (transaction_id={transaction_id}&amount={amount})",
			"unconfirmed: {aff_click_id} spelling, {payout}, meaning of {amount}; no status, currency or goal macro confirmed; click-id length limit",
		},
	},
	{
		Code:        Cake,
		DisplayName: "CAKE",
		// CAKE reserves s1 for sub-affiliate ids (50 characters) and offers s2-s5 for any
		// value such as click ids.
		ClickIDParam: "s2",
		Macros: Macros{
			ClickID:      "#s2#",
			EventID:      "", // no event token in CAKE's affiliate pixel token list
			ConversionID: "#leadid#",
			Status:       "",
			Payout:       "#price#",
			Amount:       "",
			Currency:     "",
		},
		// CAKE: s2-s5 hold 100 characters; longer values spill over into the next parameter.
		MaxClickIDLength: 100,
		Sources: []string{
			"https://support.getcake.com/support/solutions/articles/5000545788 (tokens #leadid# #tid# #s1#-#s5# #price#; s1 reserved, 50 characters; s2-s5 100 characters)",
			"note: CAKE's affiliate pixel tokens include no status, event, sale-amount or currency token",
		},
	},
	{
		Code:         Affise,
		DisplayName:  "Affise",
		ClickIDParam: "sub1", // Affise has no clickid macro for affiliate postbacks; it says to use {sub1}-{sub8}
		Macros: Macros{
			ClickID:      "{sub1}",
			EventID:      "{goal}",
			ConversionID: "{transactionid}", // Affise: "conversion identifier of the advertiser"
			Status:       "{status}",
			Payout:       "{sum}",
			Amount:       "{order_sum}",
			// The payout currency; Affise also has {order_currency} for the order's currency.
			Currency: "{currency}",
		},
		StatusWords: map[string]Status{
			"1": Approved,
			"2": Pending,
			"3": Reversed, // declined
			// "Approved and put on hold": not payable yet, so pending until Affise releases it.
			"5": Pending,
		},
		MaxClickIDLength: conservativeMaxLength, // unconfirmed: no documented limit found
		Sources: []string{
			"https://help-center.affise.com/en/articles/6483741-affiliate-postback-url-macros ({sub1}, {goal}, {transactionid}, {status} 1/2/3/5, {sum}, {order_sum}, {currency}, {order_currency})",
			"https://help-center.affise.com/en/articles/6655842-affiliate-postback-macros-affiliates",
			"unconfirmed: sub1 length limit",
		},
	},
	{
		Code:         Awin,
		DisplayName:  "Awin",
		ClickIDParam: "clickref",
		Macros: Macros{
			ClickID:      "!!!clickRef!!!",
			EventID:      "",
			ConversionID: "!!!transactionId!!!", // unconfirmed spelling: placeholder table partly read
			Status:       "",                    // unconfirmed: no status placeholder confirmed
			Payout:       "!!!commission!!!",
			// Unconfirmed spelling: Awin documents a "total sale amount in the currency of the
			// advertiser program" placeholder; its name was cut off in what could be read.
			Amount:   "!!!transactionAmount!!!",
			Currency: "!!!transactionCurrency!!!", // unconfirmed spelling
		},
		// Awin states click references have no character limit (reports show the first 50);
		// its commission-by-clickref spec limits ClickRef to 250, which is used here.
		MaxClickIDLength: 250,
		Sources: []string{
			"https://developer.awin.com/docs/request-types (Transaction Notification placeholders, case sensitive: !!!clickRef!!!, !!!commission!!!)",
			"https://developer.awin.com/docs/transaction-notifications (publishers must ask Awin to enable notifications)",
			"https://wiki.awin.com/index.php?title=Publisher_Click_Ref&printable=yes (clickref, lower case; no character limit)",
			"https://wiki.awin.com/index.php/Commission_By_ClickRef (ClickRef character limit 250)",
			"unconfirmed: !!!transactionId!!!, !!!transactionAmount!!!, !!!transactionCurrency!!! spellings; no status placeholder",
		},
	},
	{
		Code:         Rakuten,
		DisplayName:  "Rakuten Advertising",
		ClickIDParam: "u1",
		// Rakuten's Postback API fills <field> placeholders (e.g. <is_event>) with the fields
		// of its Events API.
		Macros: Macros{
			ClickID:      "<u1>",
			EventID:      "",
			ConversionID: "<etransaction_id>",
			Status:       "",
			Payout:       "<commissions>", // unconfirmed field name
			Amount:       "<sale_amount>", // unconfirmed field name
			Currency:     "<currency>",    // unconfirmed field name
		},
		MaxClickIDLength: 72, // Rakuten: the u1 member id is up to 72 alphanumeric characters
		Sources: []string{
			"https://pubhelp.rakutenadvertising.com/hc/en-us/articles/10035508493709-Signature-Implementation-Guidelines-Documentation (&u1=, up to 72 alphanumeric characters)",
			"https://pubhelp.rakutenadvertising.com/hc/en-us/articles/5949881570317-Postback-API (<field> placeholders, is_event=<is_event>; beta)",
			"https://pubhelp.rakutenadvertising.com/hc/en-us/articles/5949935515149-Events-API-Common-Questions (etransaction_id, order_id)",
			"unconfirmed: <commissions>, <sale_amount>, <currency> field names; no status field confirmed",
		},
	},
	{
		Code:        CJ,
		DisplayName: "CJ Affiliate",
		// CJ's glossary: the SID should never contain spaces, hyphens or periods.
		ClickIDParam: "sid",
		// CJ's documentation describes no publisher postback: conversions are read through its
		// Commission Detail API instead, so there is no macro to put in a postback URL.
		Macros: Macros{},
		// Unconfirmed: the only limit found is on eBay's page for CJ SIDs (30 characters).
		MaxClickIDLength: 30,
		Sources: []string{
			"http://www.uk.cj.com/glossary/s (SID: publisher tracking parameter; no spaces, hyphens or periods)",
			"http://pages.ebay.com/help/editorkit/sid.html (SID up to 30 characters; eBay's page)",
			"http://help.cj.com/en/web_services/Commission_Detail_Service.htm (commissions are read through the API)",
			"unconfirmed: no publisher postback found, so no macros; SID length limit",
		},
	},
	{
		Code:         ShareASale,
		DisplayName:  "ShareASale",
		ClickIDParam: "afftrack",
		// Unconfirmed: ShareASale sets affiliate postbacks up on request only and publishes no
		// macro list; the names come from a support reply quoted by a third party, and the
		// !!name!! wrapping from a tracker's integration guide.
		Macros: Macros{
			ClickID:      "!!afftrack!!",
			EventID:      "!!transtype!!", // usually "sale" or "lead"
			ConversionID: "!!transID!!",
			Status:       "",
			Payout:       "!!commission!!",
			Amount:       "!!amountOfSale!!",
			Currency:     "",
		},
		MaxClickIDLength: 255, // afftrack is varchar(255), per the same support reply
		Sources: []string{
			"http://www.shortywp.com/shareasale-postback-s2s-tracking-implementation/ (third party quoting ShareASale support: afftrack varchar(255), orderNumber, amountOfSale, commission, transID, transtype)",
			"https://docs.anytrack.io/affiliate-networks-integrations/shareasale (third party: !!afftrack!! !!transID!! !!amountOfSale!! !!commission!! !!transtype!!; afftrack on links)",
			"unconfirmed: all macros and the length (no ShareASale page found); postbacks are enabled per affiliate on request",
		},
	},
	{
		Code:        AdGem,
		DisplayName: "AdGem",
		// Unconfirmed: AdGem's offer-wall links carry the publisher's user id as playerid,
		// returned as {player_id}; neither name could be checked in AdGem's docs.
		ClickIDParam: "playerid",
		Macros: Macros{
			ClickID:      "{player_id}",
			EventID:      "{goal_name}",      // AdGem recommends {goal_name} for multi-reward offers
			ConversionID: "{transaction_id}", // unconfirmed
			Status:       "",
			Payout:       "{payout}", // AdGem asks publishers to include the payout field
			Amount:       "",
			Currency:     "",
		},
		MaxClickIDLength: conservativeMaxLength, // unconfirmed: no documented limit found
		Sources: []string{
			"https://docs.adgem.com/publisher-support/web-postback-setup/ (server postback; {campaign_id}, {goal_name}, payout; values rawurlencoded)",
			"unconfirmed: playerid / {player_id}, {transaction_id}, {payout} spelling, length limit; AdGem's macro table could not be read",
		},
	},
	{
		Code:        Custom,
		DisplayName: "Custom",
		// Set per offer, see WithOverrides.
		ClickIDParam: "",
		Macros:       Macros{},
		// Our own status words, so that a network set up to send them is understood.
		StatusWords: map[string]Status{
			"pending":  Pending,
			"approved": Approved,
			"reversed": Reversed,
		},
		MaxClickIDLength: conservativeMaxLength, // unknown network: the conservative limit
		Sources: []string{
			"none: the account sets the click-id parameter and the macros per offer",
		},
		Custom: true,
	},
}

// byCode indexes catalogue by code.
var byCode = func() map[Code]int {
	m := make(map[Code]int, len(catalogue))
	for i, s := range catalogue {
		m[s.Code] = i
	}
	return m
}()

// All returns the integration systems in dropdown order, IMPACT first and CUSTOM last. The
// result is a copy: changing it does not change the catalogue.
func All() []System {
	out := make([]System, len(catalogue))
	for i, s := range catalogue {
		out[i] = s.clone()
	}
	return out
}

// Lookup returns the integration system with the given code.
func Lookup(code Code) (System, bool) {
	i, ok := byCode[code]
	if !ok {
		return System{}, false
	}
	return catalogue[i].clone(), true
}

// MapStatus translates a status word sent by the network into our status. The word is trimmed
// and compared case-insensitively. An empty or unknown word gives ("", false); callers choose
// the default.
func (s System) MapStatus(word string) (Status, bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	if w == "" {
		return "", false
	}
	st, ok := s.StatusWords[w]
	return st, ok
}

// postbackParam pairs one of our postback parameters with the system's macro for it.
type postbackParam struct {
	name  string
	macro func(Macros) string
}

// postbackParams are our postback parameters, in URL order.
var postbackParams = []postbackParam{
	{"gk_click_id", func(m Macros) string { return m.ClickID }},
	{"cnv_event_id", func(m Macros) string { return m.EventID }},
	{"cnv_conversion_id", func(m Macros) string { return m.ConversionID }},
	{"cnv_status", func(m Macros) string { return m.Status }},
	{"cnv_payout", func(m Macros) string { return m.Payout }},
	{"cnv_amount", func(m Macros) string { return m.Amount }},
	{"cnv_currency", func(m Macros) string { return m.Currency }},
}

// PostbackURL builds the URL a brand pastes into the network:
//
//	{baseURL}/postback?key=KEY&gk_click_id=MACRO&cnv_event_id=MACRO&...
//
// Trailing slashes of baseURL are dropped and key is query-escaped. Macros are written
// literally (braces and other delimiters unescaped) for the network to replace; parameters
// whose macro is "" are left out. When eventID is not nil and not empty, cnv_event_id carries
// that fixed value instead of the network's macro, escaped with %20 for spaces ("Sign Up" gives
// "Sign%20Up"); this is how a multi-event offer gets one postback URL per event.
func (s System) PostbackURL(baseURL, key string, eventID *string) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(baseURL, "/"))
	b.WriteString("/postback?key=")
	b.WriteString(url.QueryEscape(key))
	for _, p := range postbackParams {
		v := p.macro(s.Macros)
		if p.name == "cnv_event_id" && eventID != nil && *eventID != "" {
			v = escapeValue(*eventID)
		}
		if v == "" {
			continue
		}
		b.WriteByte('&')
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

// escapeValue query-escapes v with %20 rather than + for spaces, so the value reads the same
// whether the receiver decodes it as a query or as a path. QueryEscape writes a literal + as
// %2B, so every + in its output stands for a space.
func escapeValue(v string) string {
	return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
}

// WithOverrides returns a copy of s with the click-id parameter and macros an account set for
// an offer. It is meant for CUSTOM, whose catalogue row has neither; on other systems it
// replaces the catalogue's values just the same.
func (s System) WithOverrides(clickIDParam string, m Macros) System {
	c := s.clone()
	c.ClickIDParam = clickIDParam
	c.Macros = m
	return c
}

// clone returns a copy of s that shares no map or slice with it.
func (s System) clone() System {
	c := s
	c.StatusWords = maps.Clone(s.StatusWords)
	c.Sources = slices.Clone(s.Sources)
	return c
}
