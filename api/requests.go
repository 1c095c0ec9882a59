package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"jindalai/model"
	"jindalai/service"
)

// requestsRoutes registers the routes of resident requests and their dispatch (issue 4).
func (s *Server) requestsRoutes(v1 *gin.RouterGroup) {
	v1.POST("/requests", s.authenticateSubmit, s.submitRequest)
	a := v1.Group("", s.authenticate)
	a.GET("/requests", s.listRequests)
	a.GET("/requests/:id", s.getRequest)
	a.POST("/requests/:id/cancel", s.cancelRequest)
	a.POST("/requests/:id/rate", s.rateRequest)

	staff := s.requireRole(model.RoleSocialWorker, model.RoleStationAdmin, model.RoleOrgAdmin)
	a.GET("/queue", staff, s.queue)
	a.GET("/tasks", staff, s.tasks)
	a.POST("/requests/:id/accept", staff, s.acceptRequest)
	a.POST("/requests/:id/reject", staff, s.rejectRequest)
	a.POST("/requests/:id/transfer", staff, s.transferRequest)
	a.POST("/requests/:id/start", staff, s.startRequest)
	a.POST("/requests/:id/resolve", staff, s.resolveRequest)
	a.POST("/requests/:id/notes", staff, s.addRequestNote)
	a.GET("/admin/stats", s.requireRole(model.RoleStationAdmin), s.stats)
}

type submitRequestBody struct {
	Category     string         `json:"category"`
	Description  string         `json:"description"`
	Address      string         `json:"address"`
	Lat          *float64       `json:"lat"`
	Lng          *float64       `json:"lng"`
	Urgency      model.Urgency  `json:"urgency"`
	ContactPhone string         `json:"contact_phone"`
	Images       []string       `json:"images"`
	Fields       map[string]any `json:"fields"`
}

func (s *Server) submitRequest(c *gin.Context) {
	var in submitRequestBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "requests.create", in)
	if !ok {
		return
	}
	out, err := s.Requests.Submit(c.Request.Context(), p, service.SubmitInput{
		Category: in.Category, Description: in.Description, Address: in.Address, Lat: in.Lat, Lng: in.Lng,
		Urgency: in.Urgency, ContactPhone: in.ContactPhone, Images: in.Images, Fields: in.Fields,
	}, idem)
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) listRequests(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := service.ListQuery{Mine: true, Status: model.RequestStatus(c.Query("status"))}
	switch c.Query("mine") {
	case "", "true":
	case "false":
		q.Mine = false
	default:
		s.fail(c, model.InvalidField("mine", "必须是 true 或 false"))
		return
	}
	out, err := s.Requests.List(c.Request.Context(), principal(c), q, page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) getRequest(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Requests.Get(c.Request.Context(), principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

// requestAction binds an optional body into dst (nil: no body expected),
// reads the path id and replies with what run returns.
func (s *Server) requestAction(c *gin.Context, dst any, run func(p model.Principal, id int64) (model.Request, error)) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	if dst != nil && !s.bindJSON(c, dst) {
		return
	}
	out, err := run(principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

// cancelRequest takes an optional body: an absent or empty one cancels
// without a reason.
func (s *Server) cancelRequest(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in reasonBody
	if !s.bindOptionalJSON(c, &in) {
		return
	}
	out, err := s.Requests.Cancel(c.Request.Context(), principal(c), id, in.Reason)
	s.respond(c, http.StatusOK, out, err)
}

type rateBody struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func (s *Server) rateRequest(c *gin.Context) {
	var in rateBody
	s.requestAction(c, &in, func(p model.Principal, id int64) (model.Request, error) {
		return s.Requests.Rate(c.Request.Context(), p, id, service.RateInput{Score: in.Score, Comment: in.Comment})
	})
}

func (s *Server) acceptRequest(c *gin.Context) {
	s.requestAction(c, nil, func(p model.Principal, id int64) (model.Request, error) {
		return s.Requests.Accept(c.Request.Context(), p, id)
	})
}

func (s *Server) rejectRequest(c *gin.Context) {
	var in reasonBody
	s.requestAction(c, &in, func(p model.Principal, id int64) (model.Request, error) {
		return s.Requests.Reject(c.Request.Context(), p, id, in.Reason)
	})
}

type transferBody struct {
	StationID int64  `json:"station_id"`
	OrgID     int64  `json:"org_id"`
	Reason    string `json:"reason"`
}

func (s *Server) transferRequest(c *gin.Context) {
	var in transferBody
	s.requestAction(c, &in, func(p model.Principal, id int64) (model.Request, error) {
		return s.Requests.Transfer(c.Request.Context(), p, id, service.TransferInput{StationID: in.StationID, OrgID: in.OrgID, Reason: in.Reason})
	})
}

func (s *Server) startRequest(c *gin.Context) {
	s.requestAction(c, nil, func(p model.Principal, id int64) (model.Request, error) {
		return s.Requests.Start(c.Request.Context(), p, id)
	})
}

type resolveBody struct {
	Summary        string `json:"summary"`
	ServiceMinutes *int   `json:"service_minutes"`
}

func (s *Server) resolveRequest(c *gin.Context) {
	var in resolveBody
	s.requestAction(c, &in, func(p model.Principal, id int64) (model.Request, error) {
		return s.Requests.Resolve(c.Request.Context(), p, id, service.ResolveInput{Summary: in.Summary, ServiceMinutes: in.ServiceMinutes})
	})
}

type noteBody struct {
	Text string `json:"text"`
}

func (s *Server) addRequestNote(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in noteBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "requests.notes:"+strconv.FormatInt(id, 10), in)
	if !ok {
		return
	}
	out, err := s.Requests.AddNote(c.Request.Context(), p, id, in.Text, idem)
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) queue(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Requests.Queue(c.Request.Context(), principal(c), page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) tasks(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Requests.Tasks(c.Request.Context(), principal(c), model.RequestStatus(c.Query("status")), page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) stats(c *gin.Context) {
	station, _, err := queryInt(c, "station_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	if station < 0 {
		s.fail(c, model.InvalidField("station_id", "必须是正整数"))
		return
	}
	out, err := s.Requests.Stats(c.Request.Context(), principal(c), service.StatsQuery{From: c.Query("from"), To: c.Query("to"), StationID: station})
	s.respond(c, http.StatusOK, out, err)
}
