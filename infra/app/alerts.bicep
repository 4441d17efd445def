// Alert rules. The KQL of the log alerts lives in queries/*.kql (loaded below, and quoted in
// docs/monitoring-kql.md, which a test holds equal to these files).
//
// Log alerts: Microsoft.Insights/scheduledQueryRules@2023-12-01 (kind LogAlert; criteria.allOf with
// query, timeAggregation, metricMeasureColumn, operator, threshold, failingPeriods), as public Bicep
// templates use that version. The metric alert: Microsoft.Insights/metricAlerts@2018-03-01 with
// SingleResourceMultipleMetricCriteria.
//
// No agent listening: Azure Monitor's supported-metrics reference for Microsoft.Relay/namespaces lists
// ActiveListeners ("Total ActiveListeners", Count, aggregation Total, dimension EntityName, PT1M). The
// rule fires when its total over 5 minutes is below 1 on the agent's hybrid connection. Unverified
// here: that EntityName carries the hybrid connection's name as given, and that the metric reports 0
// (rather than no data) when nobody listens; if it reports no data the rule stays silent, which is
// why failed creates have their own rule too.

param location string
param tags object
param namePrefix string
param applicationInsightsId string
param alertEmail string
param failedCreatesThreshold int
@description('relayAgent: the namespace whose hybrid connection the agent listens on (empty: no listener rule).')
param relayNamespaceId string
param agentHybridConnectionName string

var withActionGroup = !empty(alertEmail)
var actionGroups = withActionGroup ? [
  actionGroup.id
] : []

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (withActionGroup) {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: 'sapsync'
    emailReceivers: [
      {
        name: 'operations'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource poisonedAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'sqr-${namePrefix}-poison-queue'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'SAP sync: a retry message is in the poison queue'
    description: 'A create went to the poison queue after its retries. List and replay with `python -m admin poison list` / `poison replay`, then close this alert.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // Stays fired until closed: "not empty" is a state that only an operator ends.
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: loadTextContent('queries/alert-poisoned.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'poisoned'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource failedCreatesAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'sqr-${namePrefix}-failed-creates'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'SAP sync: failed or needs_review creates above ${failedCreatesThreshold} in 15 minutes'
    description: 'Creates rejected by SAP, poisoned, or held for review (`python -m admin list needs_review`).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('queries/alert-failed-creates.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'failed'
          operator: 'GreaterThan'
          threshold: failedCreatesThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource noListenerAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = if (!empty(relayNamespaceId)) {
  name: 'ma-${namePrefix}-no-agent-listening'
  location: 'global'
  tags: tags
  properties: {
    description: 'No on-premise agent has listened on the hybrid connection ${agentHybridConnectionName} for 5 minutes: every create is queued (202) until one does.'
    severity: 1
    enabled: true
    scopes: [
      relayNamespaceId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'no-active-listener'
          metricNamespace: 'Microsoft.Relay/namespaces'
          metricName: 'ActiveListeners'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                agentHybridConnectionName
              ]
            }
          ]
          operator: 'LessThan'
          threshold: 1
          timeAggregation: 'Total'
        }
      ]
    }
    actions: [for group in actionGroups: {
      actionGroupId: group
    }]
  }
}
