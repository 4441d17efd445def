// Log Analytics and workspace-based Application Insights with local (instrumentation key) auth off:
// telemetry is accepted only with an Entra token, which the function app gets with its managed
// identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, role Monitoring Metrics Publisher in rbac.bicep),
// as the anchor sample does (disableLocalAuth: true).

param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Days the workspace keeps data (30 is the free retention of Log Analytics).')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

output logAnalyticsWorkspaceId string = workspace.id
output applicationInsightsName string = applicationInsights.name
output applicationInsightsId string = applicationInsights.id
output connectionString string = applicationInsights.properties.ConnectionString
