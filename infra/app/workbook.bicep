// The operations workbook: sync funnel, SAP latency, queue depth, poisoned and needs_review creates.
// Its log queries are queries/*.kql (loaded below; docs/monitoring-kql.md quotes them). Workbook JSON
// (Notebook/1.0 with KqlItem/1.0 query items, item type 3, and MetricsItem/2.0 metric items, type 10)
// follows the shape of the workbook templates Microsoft publishes. A metric item names its metric
// '{namespace}-{category}-{metric}', as Microsoft's storage capacity workbook names
// 'microsoft.storage/storageaccounts/queueservices-Capacity-QueueCapacity' (azure-docs, workbooks
// how-to); QueueMessageCount is in the same Capacity category (supported-metrics reference). The rest of
// the metric item's keys are copied from published workbooks, not checked against a schema. Microsoft.Insights/workbooks@2022-04-01: kind shared, name a GUID, sourceId the App
// Insights resource the queries run against.

param location string
param tags object
param applicationInsightsId string
@description('The storage account\'s queue service: QueueMessageCount (per account, hourly) is the only queue depth Azure Monitor has.')
param queueServiceId string

var queryItem = {
  type: 3
}

var content = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      name: 'intro'
      content: {
        json: '## SAP customer sync\nCreates by outcome (the counter sapsync.creates), SAP latency, the storage queues, and what waits for an operator.'
      }
    }
    union(queryItem, {
      name: 'funnel'
      content: {
        version: 'KqlItem/1.0'
        title: 'Sync funnel: creates by outcome'
        query: loadTextContent('queries/creates-by-outcome.kql')
        size: 0
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'barchart'
      }
    })
    union(queryItem, {
      name: 'creates-over-time'
      content: {
        version: 'KqlItem/1.0'
        title: 'Creates by outcome over time'
        query: loadTextContent('queries/creates-over-time.kql')
        size: 0
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'timechart'
      }
    })
    union(queryItem, {
      name: 'sap-latency'
      content: {
        version: 'KqlItem/1.0'
        title: 'SAP latency (ms): mean and max of the histograms, percentiles of the relay round trip'
        query: loadTextContent('queries/sap-latency.kql')
        size: 0
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'table'
      }
    })
    {
      type: 10
      name: 'queue-depth'
      content: {
        version: 'MetricsItem/2.0'
        title: 'Queue depth: messages in all queues of the account (hourly; includes the poison queue)'
        size: 0
        chartType: 2
        resourceType: 'microsoft.storage/storageaccounts/queueservices'
        metricScope: 0
        resourceIds: [
          queueServiceId
        ]
        timeContext: {
          durationMs: 604800000
        }
        metrics: [
          {
            namespace: 'microsoft.storage/storageaccounts/queueservices'
            metric: 'microsoft.storage/storageaccounts/queueservices-Capacity-QueueMessageCount'
            aggregation: 4
          }
        ]
      }
    }
    union(queryItem, {
      name: 'poison-and-review'
      content: {
        version: 'KqlItem/1.0'
        title: 'Poisoned and needs_review creates per day'
        query: loadTextContent('queries/poison-and-review.kql')
        size: 0
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'barchart'
      }
    })
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2022-04-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'sap-customer-sync-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'SAP customer sync'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: string(content)
  }
}

output id string = workbook.id
