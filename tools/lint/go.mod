module github.com/oktasync/oktasync/tools/lint

go 1.26.8

require (
	github.com/kisielk/errcheck v1.30.0
	golang.org/x/tools v0.52.0
)

require (
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)
