import TaskShim

await Runtime().main()
