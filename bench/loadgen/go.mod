module replica-api/bench/loadgen

go 1.26
