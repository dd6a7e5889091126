@_exported import TaskShimCore
@_exported import TaskShimClients
@_exported import SQLTelemetry
@_exported import TaskShimLambda
@_exported import TaskShimHTTP
@_exported import TaskShimAudit
@_exported import TaskShimQueue
@_exported import TaskShimSecrets
