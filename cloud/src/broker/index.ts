export { startBroker, createServiceAccount, type BrokerOptions, type EmbeddedBroker, type ServiceAccount } from './broker.js';
export { mayPublish, maySubscribe, SERVICE_USERNAME, type Principal } from './acl.js';
