package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"jindalai/model"
	"jindalai/service"
)

type volunteerBody struct {
	RealName string   `json:"real_name"`
	Phone    string   `json:"phone"`
	Skills   []string `json:"skills"`
	OrgID    int64    `json:"org_id"`
}

// registerVolunteer accepts an Idempotency-Key. The registration revokes the
// caller's sessions, so a client that lost the reply logs in again and
// retries with the key and the new token: it gets the first reply.
func (s *Server) registerVolunteer(c *gin.Context) {
	var in volunteerBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "volunteers.register", in)
	if !ok {
		return
	}
	out, err := s.Activities.RegisterVolunteer(c.Request.Context(), p, service.VolunteerInput{
		RealName: in.RealName, Phone: in.Phone, Skills: in.Skills, OrgID: in.OrgID, Idem: idem})
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) myVolunteer(c *gin.Context) {
	out, err := s.Activities.MyVolunteer(c.Request.Context(), principal(c))
	s.respond(c, http.StatusOK, out, err)
}

type volunteerPatchBody struct {
	RealName *string   `json:"real_name"`
	Phone    *string   `json:"phone"`
	Skills   *[]string `json:"skills"`
}

func (s *Server) updateMyVolunteer(c *gin.Context) {
	var in volunteerPatchBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Activities.UpdateMyVolunteer(c.Request.Context(), principal(c), service.VolunteerPatch{
		RealName: in.RealName, Phone: in.Phone, Skills: in.Skills})
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) orgMembers(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.OrgMembers(c.Request.Context(), principal(c), id, page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) orgHours(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	fe := model.FieldErrors{}
	from := parseTime(fe, "from", c.Query("from"), false)
	to := parseTime(fe, "to", c.Query("to"), false)
	if err := fe.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.OrgHours(c.Request.Context(), principal(c), id, from, to, page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) myHours(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.MyHours(c.Request.Context(), principal(c), page)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) myClaims(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Activities.MyClaims(c.Request.Context(), principal(c), page)
	s.respond(c, http.StatusOK, out, err)
}
