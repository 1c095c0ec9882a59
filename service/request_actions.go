package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"jindalai/model"
)

// act runs one action on request id for p: read the row, check the caller
// may see it (else not_found), let decide build the change, and apply it
// with a conditional UPDATE. When another change won the race the row is
// read again and decide runs again, so its verdict always reflects the
// committed state. Returns the request as the caller sees it.
func (s *Requests) act(ctx context.Context, p model.Principal, id int64, decide func(r model.Request, a access) (model.RequestChange, error)) (model.Request, error) {
	for attempt := 0; attempt < 8; attempt++ {
		r, a, err := s.load(ctx, p, id)
		if err != nil {
			return model.Request{}, err
		}
		ch, err := decide(r, a)
		if err != nil {
			return model.Request{}, err
		}
		out, applied, err := s.apply(ctx, r, ch)
		if err != nil {
			return model.Request{}, err
		}
		if applied {
			// The caller acted on it, so the new state is still in their scope.
			return s.present(out, a.staff || (out.WorkerID != nil && *out.WorkerID == p.UserID)), nil
		}
	}
	return model.Request{}, model.Errorf(model.CodeUnavailable, "操作繁忙，请稍后再试")
}

// apply writes a change and mirrors it in Redis.
func (s *Requests) apply(ctx context.Context, before model.Request, ch model.RequestChange) (model.Request, bool, error) {
	ch.Before = before
	ch.After.ID = before.ID
	if ch.Event.From == "" {
		ch.Event.From = before.Status
	}
	if ch.Event.To == "" {
		ch.Event.To = ch.After.Status
	}
	ch.Event.StationID, ch.Event.OrgID = ch.After.Station.ID, ch.After.OrgID()
	if err := model.CheckTransition(before.Status, ch.After.Status); err != nil {
		return before, false, err
	}
	out, applied, err := s.store.UpdateRequest(ctx, ch)
	if err != nil || !applied {
		return out, applied, err
	}
	s.place(ctx, &before, out)
	return out, true, nil
}

// reasonOf trims and checks a required free-text reason.
func reasonOf(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", model.InvalidField(field, "必填")
	}
	if utf8.RuneCountInString(v) > max || hasControlExceptNewline(v) {
		return "", model.InvalidField(field, fmt.Sprintf("最多 %d 个字", max))
	}
	return v, nil
}

func hasControlExceptNewline(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			return true
		}
	}
	return false
}

// mustHold refuses callers who cannot act for the request's holder.
func mustHold(a access) error {
	if a.holderRole == "" {
		return model.Errorf(model.CodePermissionDenied, "只有承办站点的工作人员可以办理该诉求")
	}
	return nil
}

// Accept takes a dispatched (or reopened) request for the caller: status
// accepted, worker = caller. Of concurrent accepts exactly one wins; the
// others get conflict. Errors: not_found, permission_denied (not the
// holder's staff), conflict (already accepted), failed_precondition (wrong
// state), unavailable, internal.
func (s *Requests) Accept(ctx context.Context, p model.Principal, id int64) (model.Request, error) {
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		switch r.Status {
		case model.StatusAccepted, model.StatusInProgress, model.StatusResolved, model.StatusClosed:
			return model.RequestChange{}, model.Errorf(model.CodeConflict, "该诉求已被签收")
		case model.StatusDispatched, model.StatusReopened:
		default:
			return model.RequestChange{}, model.CheckTransition(r.Status, model.StatusAccepted)
		}
		if err := mustHold(a); err != nil {
			return model.RequestChange{}, err
		}
		t := s.now()
		next := r
		next.Status, next.WorkerID, next.MustTake = model.StatusAccepted, &p.UserID, false
		at := t.In(s.loc)
		next.AcceptedAt = &at
		who := next.Station.Name
		if next.Org != nil {
			who = next.Org.Name
		}
		return model.RequestChange{
			After: next,
			Event: model.RequestEvent{Kind: model.EventAccept, ActorID: p.UserID, ActorRole: a.actorRole(p, r)},
			Notices: []model.RequestNotice{{To: model.Audience{UserID: r.ResidentID}, Notification: s.notification(
				"request_accepted", "您的诉求已被签收", fmt.Sprintf("%s已签收您的诉求「%s」，工作人员将尽快与您联系。", who, r.CategoryName),
				next, t, "已签收")}},
		}, nil
	})
}

// Reject sends a dispatched request on with a reason: an organization hands
// it back to its station; a station passes it to the next candidate, or
// after MaxBounces bounces to its parent station, which must take it.
// Errors: invalid_argument (reason), not_found, permission_denied,
// failed_precondition (not dispatched; a station that must take it; nowhere
// left to send it), unavailable, internal.
func (s *Requests) Reject(ctx context.Context, p model.Principal, id int64, reason string) (model.Request, error) {
	reason, err := reasonOf("reason", reason, 500)
	if err != nil {
		return model.Request{}, err
	}
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		if r.Status != model.StatusDispatched {
			return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "诉求当前状态为「%s」，不能退单", r.Status.Label())
		}
		if err := mustHold(a); err != nil {
			return model.RequestChange{}, err
		}
		if r.OrgID() == 0 && r.MustTake {
			return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "该诉求已多次退单，本站须签收办理，不能再退单")
		}
		next, moved, err := s.bounce(ctx, r)
		if err != nil {
			return model.RequestChange{}, err
		}
		if !moved {
			return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "没有可以转交的上级站点，本站须签收办理")
		}
		return s.redispatch(next, s.now(),
			model.RequestEvent{Kind: model.EventReject, ActorID: p.UserID, ActorRole: a.actorRole(p, r), Note: reason}, false), nil
	})
}

// TransferInput names where a transfer goes: exactly one of StationID and OrgID.
type TransferInput struct {
	StationID int64
	OrgID     int64
	Reason    string
}

// Transfer hands a dispatched request to a named station or organization
// with a reason; its deadline starts again. An organization's admins then
// find it in their queue and may accept it. Errors: invalid_argument
// (station_id, org_id, reason), not_found, permission_denied (not the
// holding station's staff), failed_precondition (not dispatched; to a
// station while the holder must take it), unavailable, internal.
func (s *Requests) Transfer(ctx context.Context, p model.Principal, id int64, in TransferInput) (model.Request, error) {
	reason, err := reasonOf("reason", in.Reason, 500)
	if err != nil {
		return model.Request{}, err
	}
	if (in.StationID == 0) == (in.OrgID == 0) || in.StationID < 0 || in.OrgID < 0 {
		return model.Request{}, model.InvalidField("station_id", "station_id 与 org_id 必须且只能提供一个")
	}
	var station model.StationRef
	var org model.OrgRef
	if in.StationID != 0 {
		if station, err = s.dir.StationRef(ctx, in.StationID); model.IsCode(err, model.CodeNotFound) {
			return model.Request{}, model.InvalidField("station_id", "站点不存在")
		}
	} else if org, err = s.dir.OrgRef(ctx, in.OrgID); model.IsCode(err, model.CodeNotFound) {
		return model.Request{}, model.InvalidField("org_id", "社会组织不存在")
	}
	if err != nil {
		return model.Request{}, err
	}
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		if r.Status != model.StatusDispatched {
			return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "诉求当前状态为「%s」，不能转派", r.Status.Label())
		}
		if a.holderRole == "" || a.holderRole == model.RoleOrgAdmin {
			return model.RequestChange{}, model.Errorf(model.CodePermissionDenied, "只有承办站点的工作人员可以转派")
		}
		next := r
		if station.ID != 0 {
			if station.ID == r.Station.ID && r.OrgID() == 0 {
				return model.RequestChange{}, model.InvalidField("station_id", "已在该站点")
			}
			if r.MustTake {
				// The bounce limit gave it to this station to take: handing it
				// to another station would start the round again. An
				// organization may still help (it comes back here, must_take kept).
				return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "该诉求已多次退单，本站须签收办理，不能转派给其他站点")
			}
			next.Station, next.Org, next.MustTake = station, nil, false
		} else {
			o := org
			next.Org = &o
		}
		return s.redispatch(next, s.now(),
			model.RequestEvent{Kind: model.EventTransfer, ActorID: p.UserID, ActorRole: a.actorRole(p, r), Note: reason}, false), nil
	})
}

// mayWork reports whether the caller may start or resolve accepted work:
// the assigned worker, or an admin of its station (or above).
func mayWork(p model.Principal, r model.Request, a access) error {
	if (r.WorkerID != nil && *r.WorkerID == p.UserID) || a.adminRole != "" {
		return nil
	}
	return model.Errorf(model.CodePermissionDenied, "只有签收人或站点管理员可以办理")
}

// Start marks accepted work in progress. Errors: not_found,
// permission_denied, failed_precondition, unavailable, internal.
func (s *Requests) Start(ctx context.Context, p model.Principal, id int64) (model.Request, error) {
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		if !a.staff {
			return model.RequestChange{}, model.Errorf(model.CodePermissionDenied, "只有工作人员可以办理诉求")
		}
		if err := model.CheckTransition(r.Status, model.StatusInProgress); err != nil {
			return model.RequestChange{}, err
		}
		if err := mayWork(p, r, a); err != nil {
			return model.RequestChange{}, err
		}
		next := r
		next.Status = model.StatusInProgress
		return model.RequestChange{After: next,
			Event: model.RequestEvent{Kind: model.EventStart, ActorID: p.UserID, ActorRole: a.actorRole(p, r)}}, nil
	})
}

// ResolveInput closes out the work.
type ResolveInput struct {
	Summary        string
	ServiceMinutes *int
}

// Resolve marks work in progress resolved with a summary and the minutes of
// service; the resident is told. Errors: invalid_argument (summary,
// service_minutes), not_found, permission_denied, failed_precondition,
// unavailable, internal.
func (s *Requests) Resolve(ctx context.Context, p model.Principal, id int64, in ResolveInput) (model.Request, error) {
	summary, err := reasonOf("summary", in.Summary, 1000)
	if err != nil {
		return model.Request{}, err
	}
	if in.ServiceMinutes == nil || *in.ServiceMinutes < 0 || *in.ServiceMinutes > 100000 {
		return model.Request{}, model.InvalidField("service_minutes", "必须是 0–100000 的整数")
	}
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		if !a.staff {
			return model.RequestChange{}, model.Errorf(model.CodePermissionDenied, "只有工作人员可以办理诉求")
		}
		if err := model.CheckTransition(r.Status, model.StatusResolved); err != nil {
			return model.RequestChange{}, err
		}
		if err := mayWork(p, r, a); err != nil {
			return model.RequestChange{}, err
		}
		t := s.now()
		next := r
		next.Status = model.StatusResolved
		next.Resolution = &model.Resolution{Summary: summary, ServiceMinutes: *in.ServiceMinutes, ResolvedAt: t.In(s.loc)}
		return model.RequestChange{
			After: next,
			Event: model.RequestEvent{Kind: model.EventResolve, ActorID: p.UserID, ActorRole: a.actorRole(p, r), Note: summary},
			Notices: []model.RequestNotice{{To: model.Audience{UserID: r.ResidentID}, Notification: s.notification(
				"request_resolved", "您的诉求已办结，请评价", fmt.Sprintf("「%s」已办结：%s", r.CategoryName, excerpt(summary, 60)),
				next, t, summary)}},
		}, nil
	})
}

// Cancel withdraws the caller's own request before anyone accepted it.
// Errors: invalid_argument (reason), not_found, permission_denied (not the
// resident), failed_precondition (accepted already), unavailable, internal.
func (s *Requests) Cancel(ctx context.Context, p model.Principal, id int64, reason string) (model.Request, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 200 || hasControlExceptNewline(reason) {
		return model.Request{}, model.InvalidField("reason", "最多 200 个字")
	}
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		if !a.owner {
			return model.RequestChange{}, model.Errorf(model.CodePermissionDenied, "只有提交人可以撤销诉求")
		}
		if err := model.CheckTransition(r.Status, model.StatusCancelled); err != nil {
			return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "诉求当前状态为「%s」，已不能撤销", r.Status.Label())
		}
		next := r
		next.Status = model.StatusCancelled
		at := s.now().In(s.loc)
		next.ClosedAt = &at
		return model.RequestChange{After: next, Notices: s.cancelNotices(next, reason, at),
			Event: model.RequestEvent{Kind: model.EventCancel, ActorID: p.UserID, ActorRole: string(model.RoleResident), Note: reason}}, nil
	})
}

// RateInput is the resident's verdict.
type RateInput struct {
	Score   int
	Comment string
}

// Rate records the resident's rating of a resolved request: 3–5 closes it,
// 1–2 reopens it to the same station (its admins are told) for another go.
// Errors: invalid_argument (score, comment), not_found, permission_denied
// (not the resident), failed_precondition (not resolved), unavailable, internal.
func (s *Requests) Rate(ctx context.Context, p model.Principal, id int64, in RateInput) (model.Request, error) {
	if in.Score < 1 || in.Score > 5 {
		return model.Request{}, model.InvalidField("score", "必须是 1–5 的整数")
	}
	comment := strings.TrimSpace(in.Comment)
	if utf8.RuneCountInString(comment) > 500 || hasControlExceptNewline(comment) {
		return model.Request{}, model.InvalidField("comment", "最多 500 个字")
	}
	return s.act(ctx, p, id, func(r model.Request, a access) (model.RequestChange, error) {
		if !a.owner {
			return model.RequestChange{}, model.Errorf(model.CodePermissionDenied, "只有提交人可以评价")
		}
		if r.Status != model.StatusResolved {
			return model.RequestChange{}, model.Errorf(model.CodeFailedPrecondition, "诉求办结后才能评价")
		}
		t := s.now()
		next := r
		next.Rating = &model.Rating{Score: in.Score, Comment: comment, RatedAt: t.In(s.loc)}
		note := fmt.Sprintf("评分 %d", in.Score)
		if comment != "" {
			note += "：" + comment
		}
		ch := model.RequestChange{Event: model.RequestEvent{ActorID: p.UserID, ActorRole: string(model.RoleResident), Note: note}}
		if in.Score >= 3 {
			next.Status = model.StatusClosed
			at := t.In(s.loc)
			next.ClosedAt = &at
			ch.Event.Kind = model.EventRate
		} else {
			next.Status = model.StatusReopened
			next.Org = nil
			next.AcceptBy = t.Add(s.acceptWithin(r.Urgency)).In(s.loc)
			ch.Event.Kind = model.EventReopen
			ch.Notices = []model.RequestNotice{{To: model.Audience{StationID: r.Station.ID, Roles: stationAdmins},
				Notification: s.notification("request_reopened", "诉求被重新打开，请重新办理",
					fmt.Sprintf("居民对「%s」的办理结果不满意（%s），请重新签收办理。", r.CategoryName, note), next, t, note)}}
		}
		ch.After = next
		return ch, nil
	})
}

// AddNote records an internal note on a request (never shown to the
// resident), in one transaction with idem (nil: no key): the same key and
// body again get the first note back and add none. Errors: invalid_argument
// (text), not_found, permission_denied (not staff in scope), conflict (the
// key was used for another request), unavailable, internal.
func (s *Requests) AddNote(ctx context.Context, p model.Principal, id int64, text string, idem *model.Idempotency) (model.TimelineEntry, error) {
	text, err := reasonOf("text", text, 1000)
	if err != nil {
		return model.TimelineEntry{}, err
	}
	r, a, err := s.load(ctx, p, id)
	if err != nil {
		return model.TimelineEntry{}, err
	}
	if !a.staff {
		return model.TimelineEntry{}, model.Errorf(model.CodePermissionDenied, "只有工作人员可以记录内部备注")
	}
	e, err := s.store.AddRequestEvent(ctx, idem, model.RequestEvent{RequestID: id, Kind: model.EventNote, From: r.Status, To: r.Status,
		ActorID: p.UserID, ActorRole: a.actorRole(p, r), StationID: r.Station.ID, OrgID: r.OrgID(), Note: text, Internal: true})
	if err != nil {
		return model.TimelineEntry{}, err
	}
	return model.TimelineEntry{At: e.At, Kind: e.Kind, From: e.From, To: e.To, ActorRole: e.ActorRole, Note: e.Note, Internal: true}, nil
}
