package api

import "github.com/gin-gonic/gin"

// requestsRoutes registers the routes of resident requests and their dispatch (issue 4).
func (s *Server) requestsRoutes(v1 *gin.RouterGroup) {}
