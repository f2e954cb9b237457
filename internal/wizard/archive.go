package wizard

import (
	"context"
	"fmt"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/advertiser"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/errcode"
)

// Archiving puts a draft or an ended offer, or a brand with no live offers, out of the lists;
// the row and everything that points at it stay, for history. An archived offer cannot change.

// ArchiveOffer archives a DRAFT or ENDED offer; a live (ACTIVE or PAUSED) one must end first.
// Archiving an archived offer changes nothing.
func ArchiveOffer(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	n, err := c.Offer.Update().
		Where(offer.ID(id), offer.StatusIn(offer.StatusDRAFT, offer.StatusENDED), offer.ArchivedAtIsNil()).
		SetArchivedAt(time.Now()).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("archive offer %d: %w", id, err)
	}
	o, err := load(ctx, c, id)
	if err != nil || n == 1 || o.ArchivedAt != nil {
		return o, err
	}
	return nil, &errcode.Error{Code: errcode.Conflict, Field: "id",
		Message: fmt.Sprintf("only a DRAFT or ENDED offer can be archived; this offer is %s: end it first", o.Status)}
}

// ArchiveAdvertiser archives a brand that has no live (ACTIVE or PAUSED) offers.
func ArchiveAdvertiser(ctx context.Context, c *ent.Client, id int) (*ent.Advertiser, error) {
	a, err := loadAdvertiser(ctx, c, id, "id")
	if err != nil || a.ArchivedAt != nil {
		return a, err
	}
	live, err := c.Offer.Query().
		Where(offer.AdvertiserID(id), offer.StatusIn(offer.StatusACTIVE, offer.StatusPAUSED)).
		Count(ctx)
	if err != nil {
		return nil, err
	}
	if live > 0 {
		return nil, &errcode.Error{Code: errcode.Conflict, Field: "id",
			Message: fmt.Sprintf("advertiser %q has %d live offer(s); end them before archiving it", a.Name, live)}
	}
	return a.Update().SetArchivedAt(time.Now()).Save(ctx)
}

// loadAdvertiser reads a brand of the viewer's account; another account's is not found.
func loadAdvertiser(ctx context.Context, c *ent.Client, id int, field string) (*ent.Advertiser, error) {
	a, err := c.Advertiser.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &errcode.Error{Code: errcode.NotFound, Field: field, Message: fmt.Sprintf("no advertiser with id %d", id)}
	}
	return a, err
}

// checkNameFree refuses a brand name that an unarchived brand of the account already has,
// ignoring case, naming that brand. The unique index is the guarantee; this check only makes
// the common case's message precise.
func checkNameFree(ctx context.Context, c *ent.Client, field, name string, except int) error {
	other, err := c.Advertiser.Query().
		Where(advertiser.NameKey(schema.AdvertiserNameKey(name)), advertiser.ArchivedAtIsNil(), advertiser.IDNEQ(except)).
		First(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return nameTaken(field, other.Name, other.ID)
}

func nameTaken(field, name string, id int) error {
	msg := fmt.Sprintf("an advertiser named %q already exists", name)
	if id != 0 {
		msg = fmt.Sprintf("%s (id %d); choose it instead, or another name", msg, id)
	}
	return &errcode.Error{Code: errcode.Conflict, Field: field, Message: msg}
}

// saveAdvertiser saves a create or update of a brand, turning the unique index's refusal (a
// concurrent writer took the name between check and save) into the same CONFLICT.
func saveAdvertiser(ctx context.Context, field, name string, save func(context.Context) (*ent.Advertiser, error)) (*ent.Advertiser, error) {
	a, err := save(ctx)
	if ent.IsConstraintError(err) {
		return nil, nameTaken(field, name, 0)
	}
	return a, err
}
