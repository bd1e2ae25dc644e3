module replica-api.local/pause

go 1.24
