package api

import "github.com/gin-gonic/gin"

// stationsRoutes registers the routes of the station tree, organizations, the service catalogue and matching (issue 3).
func (s *Server) stationsRoutes(v1 *gin.RouterGroup) {}
