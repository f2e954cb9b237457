package wizard

import (
	"context"
	"net/mail"
	"strings"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/links"
)

// UpdateAdvertiserInput changes a brand; fields left out stay as they are.
type UpdateAdvertiserInput struct {
	Name         *string
	Website      *string
	ContactName  *string
	ContactEmail *string
	Notes        *string
}

func checkAdvertiser(errs *errcode.List, prefix string, in *NewAdvertiserInput) {
	in.Name = checkName(errs, prefix+".name", in.Name)
	checkContact(errs, prefix, in.Website, in.ContactEmail)
}

func checkContact(errs *errcode.List, prefix string, website, email *string) {
	if website != nil && strings.TrimSpace(*website) != "" && !links.IsAbsoluteHTTP(strings.TrimSpace(*website)) {
		errs.Add(prefix+".website", "must be an absolute http or https URL")
	}
	if email != nil && strings.TrimSpace(*email) != "" {
		if a, err := mail.ParseAddress(strings.TrimSpace(*email)); err != nil || a.Address != strings.TrimSpace(*email) {
			errs.Add(prefix+".contactEmail", "must be an email address such as partners@brand.example")
		}
	}
}

// CreateAdvertiser adds a brand to the viewer's account.
func CreateAdvertiser(ctx context.Context, c *ent.Client, in NewAdvertiserInput) (*ent.Advertiser, error) {
	var errs errcode.List
	checkAdvertiser(&errs, "input", &in)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return createAdvertiser(ctx, c, "input.name", &in)
}

// createAdvertiser saves a checked brand whose name no unarchived brand of the account has.
func createAdvertiser(ctx context.Context, c *ent.Client, nameField string, in *NewAdvertiserInput) (*ent.Advertiser, error) {
	if err := checkNameFree(ctx, c, nameField, in.Name, 0); err != nil {
		return nil, err
	}
	return saveAdvertiser(ctx, nameField, in.Name, c.Advertiser.Create().SetName(in.Name).
		SetWebsite(deref(in.Website)).SetContactName(deref(in.ContactName)).
		SetContactEmail(deref(in.ContactEmail)).SetNotes(deref(in.Notes)).
		Save)
}

// UpdateAdvertiser changes a brand of the viewer's account.
func UpdateAdvertiser(ctx context.Context, c *ent.Client, id int, in UpdateAdvertiserInput) (*ent.Advertiser, error) {
	a, err := loadAdvertiser(ctx, c, id, "id")
	if err != nil {
		return nil, err
	}
	var errs errcode.List
	upd := a.Update()
	name := a.Name
	if in.Name != nil {
		name = checkName(&errs, "input.name", *in.Name)
		upd.SetName(name)
	}
	checkContact(&errs, "input", in.Website, in.ContactEmail)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if in.Name != nil && a.ArchivedAt == nil {
		if err := checkNameFree(ctx, c, "input.name", name, a.ID); err != nil {
			return nil, err
		}
	}
	if in.Website != nil {
		upd.SetWebsite(deref(in.Website))
	}
	if in.ContactName != nil {
		upd.SetContactName(deref(in.ContactName))
	}
	if in.ContactEmail != nil {
		upd.SetContactEmail(deref(in.ContactEmail))
	}
	if in.Notes != nil {
		upd.SetNotes(deref(in.Notes))
	}
	return saveAdvertiser(ctx, "input.name", name, upd.Save)
}
