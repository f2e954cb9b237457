package schema

// Lengths of text columns, named once: the schemas declare them, and the code that writes
// through raw SQL (postback, clicks) cuts or refuses to them.
const (
	// MaxReasonLength bounds a conversion's reason, its history steps' and a postback log's.
	MaxReasonLength = 500
	// MaxSourceIPLength bounds a stored client address.
	MaxSourceIPLength = 64
	// MaxUserAgentLength bounds a click's stored User-Agent.
	MaxUserAgentLength = 1024
	// MaxIDLength bounds ids that networks and publishers send: network conversion ids,
	// event ids, pub_member_id and the other publisher parameters.
	MaxIDLength = 255
	// MaxClickIDLength bounds gk_click_id, minted or accepted.
	MaxClickIDLength = 64
)
