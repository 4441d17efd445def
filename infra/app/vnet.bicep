// connectivity=vnet: a virtual network whose `app` subnet the Flex Consumption app integrates with,
// delegated to Microsoft.App/environments as Flex Consumption requires (the anchor sample's
// app/vnet.bicep delegates its app subnet exactly so). The rfc transport then reaches SAP through this
// network: peer it with the hub that holds your VPN or ExpressRoute gateway (not built here: the hub is
// yours) and route the SAP subnets through it. The address space is a parameter so it can be chosen not
// to overlap the on-premise ranges.

param vnetName string
param nsgName string
param location string
param tags object
param addressPrefix string = '10.240.0.0/22'
param appSubnetPrefix string = '10.240.0.0/24'

// Outbound only: nothing listens in this subnet, so inbound from the internet is denied; outbound to
// SAP (33NN gateway, 32NN dispatcher, 36NN message server) goes over the peering.
resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: nsgName
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'deny-internet-inbound'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          privateEndpointNetworkPolicies: 'Disabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

output vnetId string = vnet.id
output appSubnetId string = '${vnet.id}/subnets/app'
