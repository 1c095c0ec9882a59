package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"jindalai/model"
)

// failingCommitStore runs the registration's reply callback, then fails as a
// COMMIT that does not go through would.
type failingCommitStore struct {
	ActivityStore
	err error
}

func (f failingCommitStore) CreateVolunteer(_ context.Context, _ *model.Idempotency, v model.Volunteer,
	reply func(model.Volunteer, model.User) (json.RawMessage, error)) (json.RawMessage, error) {
	if _, err := reply(v, model.User{ID: v.UserID, Roles: []model.Role{{Role: model.RoleVolunteer}}}); err != nil {
		return nil, err
	}
	return nil, f.err
}

// recordingSessions mints "token-N" sessions and records the ended ones
// and the ones kept when the others were ended.
type recordingSessions struct {
	minted, ended, kept []string
	failMint            error
}

func (r *recordingSessions) ReplaceSessions(_ context.Context, u model.User) (model.Login, error) {
	if r.failMint != nil {
		return model.Login{}, r.failMint
	}
	tok := "token-" + string(rune('0'+len(r.minted)))
	r.minted = append(r.minted, tok)
	return model.Login{Token: tok, ExpiresAt: time.Now(), User: u}, nil
}

func (r *recordingSessions) EndSession(_ context.Context, _ int64, token string) error {
	r.ended = append(r.ended, token)
	return nil
}

func (r *recordingSessions) EndOtherSessions(_ context.Context, _ int64, token string) error {
	r.kept = append(r.kept, token)
	return nil
}

// keyedVolunteerStore commits registrations and replays a key it has seen.
type keyedVolunteerStore struct {
	ActivityStore
	replies map[string]json.RawMessage
}

func (f keyedVolunteerStore) CreateVolunteer(_ context.Context, idem *model.Idempotency, v model.Volunteer,
	reply func(model.Volunteer, model.User) (json.RawMessage, error)) (json.RawMessage, error) {
	if raw, ok := f.replies[idem.Key]; ok {
		return raw, nil
	}
	raw, err := reply(v, model.User{ID: v.UserID, Roles: []model.Role{{Role: model.RoleVolunteer}}})
	if err != nil {
		return nil, err
	}
	f.replies[idem.Key] = raw
	return raw, nil
}

// TestCommittedRegistrationEndsTheOtherSessions: once the registration
// commits, every session but the one it minted is ended (a login during its
// transaction minted one from the roles before it); a replay mints and ends
// nothing, and a registration that did not commit keeps nothing.
func TestCommittedRegistrationEndsTheOtherSessions(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sessions := &recordingSessions{}
	acts := NewActivities(keyedVolunteerStore{replies: map[string]json.RawMessage{}}, nil, sessions, nil, testPII(t),
		ActivitiesConfig{}, time.UTC, log)
	in := VolunteerInput{RealName: "李四", Phone: "13912345678", Idem: &model.Idempotency{UserID: 2, Key: "reg-1"}}
	first, err := acts.RegisterVolunteer(ctx, model.Principal{UserID: 2}, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions.minted) != 1 || len(sessions.kept) != 1 || sessions.kept[0] != first.Token || first.Token != sessions.minted[0] {
		t.Fatalf("minted %q, kept %q, replied %q: want the others ended around the minted session", sessions.minted, sessions.kept, first.Token)
	}
	again, err := acts.RegisterVolunteer(ctx, model.Principal{UserID: 2}, in)
	if err != nil || again.Token != first.Token {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	if len(sessions.minted) != 1 || len(sessions.kept) != 1 || len(sessions.ended) != 0 {
		t.Fatalf("the replay minted %q, kept %q, ended %q", sessions.minted, sessions.kept, sessions.ended)
	}
}

// TestRegistrationThatDoesNotCommitEndsItsSession: the session minted inside
// the registration's transaction carries a role the rollback took back, so
// it is ended; when minting itself fails there is nothing to end.
func TestRegistrationThatDoesNotCommitEndsItsSession(t *testing.T) {
	ctx := context.Background()
	pii := testPII(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	in := VolunteerInput{RealName: "李四", Phone: "13912345678"}
	down := model.Errorf(model.CodeUnavailable, "commit lost")

	sessions := &recordingSessions{}
	acts := NewActivities(failingCommitStore{err: down}, nil, sessions, nil, pii, ActivitiesConfig{}, time.UTC, log)
	if _, err := acts.RegisterVolunteer(ctx, model.Principal{UserID: 2}, in); err != down {
		t.Fatalf("registration whose commit fails: %v, want the store's error", err)
	}
	if len(sessions.minted) != 1 || len(sessions.ended) != 1 || sessions.ended[0] != sessions.minted[0] || len(sessions.kept) != 0 {
		t.Fatalf("minted %q, ended %q, kept %q: want the minted session ended", sessions.minted, sessions.ended, sessions.kept)
	}

	sessions = &recordingSessions{failMint: model.Errorf(model.CodeUnavailable, "redis down")}
	acts = NewActivities(failingCommitStore{}, nil, sessions, nil, pii, ActivitiesConfig{}, time.UTC, log)
	if _, err := acts.RegisterVolunteer(ctx, model.Principal{UserID: 2}, in); err != sessions.failMint {
		t.Fatalf("registration whose session cannot be minted: %v", err)
	}
	if len(sessions.ended) != 0 {
		t.Fatalf("ended %q, want none", sessions.ended)
	}
}
