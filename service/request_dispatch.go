package service

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// access is what one principal may do with one request.
type access struct {
	// owner: the resident who submitted it.
	owner bool
	// staff: staff in scope (the holder's staff, the assigned worker, admins
	// above, the holding organization): sees the phone in full and notes.
	staff bool
	// holderRole is the role under which the caller acts for the current
	// holder (accept, reject, transfer); "" when they may not.
	holderRole model.RoleName
	// adminRole is set for station admins of the station or above and city
	// admins: they may also start and resolve its accepted work.
	adminRole model.RoleName
}

func (a access) visible() bool { return a.owner || a.staff }

// access works out the caller's rights on r. Only a station admin who holds
// no direct role costs a look-up (the station's ancestors).
func (s *Requests) access(ctx context.Context, p model.Principal, r model.Request) (access, error) {
	a := access{owner: r.ResidentID == p.UserID && p.UserID != 0}
	if p.IsCityAdmin() {
		a.staff, a.holderRole, a.adminRole = true, model.RoleCityAdmin, model.RoleCityAdmin
		return a, nil
	}
	orgHeld := r.OrgID() != 0
	if orgHeld && p.HasOrgRole(r.OrgID(), model.RoleOrgAdmin) {
		a.staff, a.holderRole = true, model.RoleOrgAdmin
	}
	switch {
	case p.HasStationRole(r.Station.ID, model.RoleStationAdmin):
		a.staff, a.adminRole = true, model.RoleStationAdmin
		if !orgHeld {
			a.holderRole = model.RoleStationAdmin
		}
	case p.HasStationRole(r.Station.ID, model.RoleSocialWorker):
		a.staff = true
		if !orgHeld {
			a.holderRole = model.RoleSocialWorker
		}
	}
	if r.WorkerID != nil && *r.WorkerID == p.UserID {
		a.staff = true
	}
	if a.adminRole == "" {
		if admins := p.StationIDs(model.RoleStationAdmin); len(admins) > 0 {
			above, err := s.dir.Ancestors(ctx, r.Station.ID)
			if err != nil && !model.IsCode(err, model.CodeNotFound) {
				return a, err
			}
			for _, st := range above {
				if slices.Contains(admins, st.ID) {
					a.staff, a.adminRole = true, model.RoleStationAdmin
					break
				}
			}
		}
	}
	return a, nil
}

// load reads request id and the caller's rights on it; a request the
// caller may not see is not_found, as a missing one.
func (s *Requests) load(ctx context.Context, p model.Principal, id int64) (model.Request, access, error) {
	r, err := s.store.GetRequest(ctx, id)
	if err != nil {
		return model.Request{}, access{}, err
	}
	a, err := s.access(ctx, p, r)
	if err != nil {
		return model.Request{}, access{}, err
	}
	if !a.visible() {
		return model.Request{}, access{}, model.NotFound("诉求")
	}
	return r, a, nil
}

// actorRole names the role in which the caller acts on r, for the timeline.
func (a access) actorRole(p model.Principal, r model.Request) string {
	switch {
	case a.holderRole != "":
		return string(a.holderRole)
	case r.WorkerID != nil && *r.WorkerID == p.UserID && r.OrgID() != 0 && p.HasOrgRole(r.OrgID(), model.RoleOrgAdmin):
		return string(model.RoleOrgAdmin)
	case r.WorkerID != nil && *r.WorkerID == p.UserID:
		return string(model.RoleSocialWorker)
	case a.adminRole != "":
		return string(a.adminRole)
	case a.owner:
		return string(model.RoleResident)
	}
	return string(model.RoleSocialWorker)
}

// staffScope returns the queues and requests a staff member covers: social
// workers their stations, station admins their stations and everything below,
// organization admins their organizations, city admins everything.
func (s *Requests) staffScope(ctx context.Context, p model.Principal) (model.QueueFilter, error) {
	if p.IsCityAdmin() {
		return model.QueueFilter{All: true}, nil
	}
	var f model.QueueFilter
	add := func(id int64) {
		if !slices.Contains(f.StationIDs, id) {
			f.StationIDs = append(f.StationIDs, id)
		}
	}
	for _, id := range p.StationIDs(model.RoleSocialWorker) {
		add(id)
	}
	for _, id := range p.StationIDs(model.RoleStationAdmin) {
		below, err := s.dir.Subtree(ctx, id)
		if err != nil && !model.IsCode(err, model.CodeNotFound) {
			return f, err
		}
		add(id)
		for _, b := range below {
			add(b)
		}
	}
	f.OrgIDs = p.OrgIDs(model.RoleOrgAdmin)
	return f, nil
}

// bounce decides where a rejected or overdue request goes: one held by an
// organization back to its station (not counted as a bounce); one held by a
// station to the next candidate after the one last used while fewer than
// MaxBounces bounces have happened, else (or when candidates run out, or the
// station had to take it) to the current station's parent, which must take
// it. moved is false when there is nowhere to go: the city station must take
// it itself, and keeping it there is no bounce (Bounces is unchanged).
func (s *Requests) bounce(ctx context.Context, r model.Request) (next model.Request, moved bool, err error) {
	next = r
	next.Org = nil
	if r.OrgID() != 0 {
		return next, true, nil
	}
	if !r.MustTake && r.Bounces+1 < s.cfg.MaxBounces {
		for i := r.CandidatePos + 1; i < len(r.Candidates); i++ {
			if r.Candidates[i].ID != r.Station.ID {
				next.Station, next.CandidatePos, next.MustTake, next.Bounces = r.Candidates[i], i, false, r.Bounces+1
				return next, true, nil
			}
		}
	}
	above, err := s.dir.Ancestors(ctx, r.Station.ID)
	if err != nil && !model.IsCode(err, model.CodeNotFound) {
		return r, false, err
	}
	next.MustTake = true
	if len(above) == 0 {
		return next, false, nil
	}
	next.Station, next.Bounces = above[0], r.Bounces+1
	for i := r.CandidatePos + 1; i < len(r.Candidates); i++ {
		if r.Candidates[i].ID == above[0].ID {
			next.CandidatePos = i
			break
		}
	}
	return next, true, nil
}

// redispatch is the change that puts next in its holder's queue at t: it is
// dispatched with a new accept-by deadline, e records why, and the new
// holder's admins are told (a 督办 when escalated, see dispatchNotices).
func (s *Requests) redispatch(next model.Request, t time.Time, e model.RequestEvent, escalated bool) model.RequestChange {
	next.Status = model.StatusDispatched
	next.AcceptBy = t.Add(s.acceptWithin(next.Urgency)).In(s.loc)
	return model.RequestChange{After: next, Event: e, Notices: s.dispatchNotices(next, escalated)}
}

// excerpt cuts a description for a notification.
func excerpt(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// notification builds an in-app/subscribe message about r.
func (s *Requests) notification(kind, title, body string, r model.Request, t time.Time, note string) model.Notification {
	station := r.Station.Name
	if r.Org != nil {
		station = r.Org.Name
	}
	return model.Notification{
		Kind:  kind,
		Title: title,
		Body:  body,
		Data: map[string]string{
			"title":   r.CategoryName,
			"status":  r.Status.Label(),
			"time":    t.In(s.loc).Format("2006-01-02 15:04"),
			"station": station,
			"note":    excerpt(note, 20),
		},
		RefType: "request",
		RefID:   r.ID,
	}
}

var (
	stationAdmins = []model.RoleName{model.RoleStationAdmin}
	orgAdmins     = []model.RoleName{model.RoleOrgAdmin}
)

// dispatchNotices tell the admins of r's new holder that it waits there:
// request_dispatched to the station's (or the organization's) admins, or,
// when escalated, request_escalated (督办) to the station's admins. The
// social workers learn of it from their queue (GET /queue), which every
// dispatch updates at once; the admins supervise that it is accepted.
func (s *Requests) dispatchNotices(r model.Request, escalated bool) []model.RequestNotice {
	body := noticeBody(r)
	deadline := s.deadlineText(r.AcceptBy)
	to := holderAdmins(r)
	if r.OrgID() == 0 && escalated {
		return []model.RequestNotice{{To: to, Notification: s.notification("request_escalated", "督办：诉求超时未签收，"+deadline,
			"超过签收时限未被签收，已转至本站："+body, r, r.AcceptBy, "超时未签收，请督促办理")}}
	}
	return []model.RequestNotice{{To: to,
		Notification: s.notification("request_dispatched", "新诉求待签收："+deadline, body, r, r.AcceptBy, r.Description)}}
}

// holderAdmins are the admins of whoever holds a request: the
// organization it was transferred to, else its station.
func holderAdmins(r model.Request) model.Audience {
	if r.OrgID() != 0 {
		return model.Audience{OrgID: r.OrgID(), Roles: orgAdmins}
	}
	return model.Audience{StationID: r.Station.ID, Roles: stationAdmins}
}

// cancelNotices tell the admins who were told of a request when it was
// dispatched to its holder (the station, or the organization it was
// transferred to) that the resident withdrew it before anyone took it, so
// that nobody acts on the earlier message.
func (s *Requests) cancelNotices(r model.Request, reason string, at time.Time) []model.RequestNotice {
	to := holderAdmins(r)
	note := "居民已撤销"
	if reason != "" {
		note += "：" + reason
	}
	return []model.RequestNotice{{To: to, Notification: s.notification("request_cancelled", "诉求已撤销，无需签收",
		"居民在签收前撤销了诉求："+noticeBody(r), r, at, note)}}
}

// reminderNotices tell the admins of a station that keeps an overdue
// request (the top of the tree: there is nowhere to escalate it to) that it
// is still not accepted: a 督办 again, not a new dispatch.
func (s *Requests) reminderNotices(r model.Request) []model.RequestNotice {
	return []model.RequestNotice{{To: model.Audience{StationID: r.Station.ID, Roles: stationAdmins},
		Notification: s.notification("request_escalated", "督办：诉求仍未签收，"+s.deadlineText(r.AcceptBy),
			"超过签收时限仍未被签收，请尽快安排签收："+noticeBody(r), r, r.AcceptBy, "仍未签收，请督促办理")}}
}

// noticeBody is a request as the admins' messages describe it.
func noticeBody(r model.Request) string {
	return fmt.Sprintf("【%s】%s", r.CategoryName, excerpt(r.Description, 60))
}

// deadlineText is an accept-by time as the admins read it, rounded up to
// the minute, so it never names a minute before the deadline.
func (s *Requests) deadlineText(t time.Time) string {
	m := t.Truncate(time.Minute)
	if m.Before(t) {
		m = m.Add(time.Minute)
	}
	return "请于 " + m.In(s.loc).Format("01-02 15:04") + " 前签收"
}
