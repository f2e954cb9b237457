package catalogue

import "testing"

func TestEventMatchKeyTreatsSpellingsOfOneEventAlike(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"Sign Up", "sign up", " Sign Up ", "Sign+Up", "Sign%20Up", "SIGN  UP", "sign%2Bup"} {
		if got := EventMatchKey(in); got != "sign up" {
			t.Errorf("EventMatchKey(%q) = %q, want %q", in, got, "sign up")
		}
	}
}

func TestEventMatchKeyKeepsDifferentEventsApart(t *testing.T) {
	t.Parallel()
	if EventMatchKey("Sign Up") == EventMatchKey("SignUp") {
		t.Error("Sign Up and SignUp must not collide")
	}
	if EventMatchKey("First Purchase") == EventMatchKey("Purchase") {
		t.Error("First Purchase and Purchase must not collide")
	}
}
