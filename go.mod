module github.com/softmaxce/softmaxce

go 1.26
