module github.com/oktasync/oktasync

go 1.26.8

require (
	github.com/neo4j/neo4j-go-driver/v5 v5.28.4 // indirect
	github.com/okta/okta-sdk-golang/v2 v2.20.0 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
