// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_sim - simulated RDMA devices for testing RDMA network namespace code.
 *
 * The devices carry no traffic. They exist so that the RDMA core sees devices
 * that can be moved between network namespaces (the driver provides
 * disassociate_ucontext) and that sit in sysfs where real ones do:
 *
 *  - "PCI" devices: one per netdev named in the `netdevs` parameter
 *    (comma separated). Each is bound to that netdev (RoCE port, shown by
 *    `rdma link`) and its parent is the netdev's PCI function, so
 *    /sys/bus/pci/devices/<addr>/infiniband/simpciN exists, as for a VF.
 *    RDMA names: simpci0, simpci1, ... in the order of the parameter.
 *
 *  - "SF" devices: `num_sf` auxiliary devices rdma_sim.sf.0 .. rdma_sim.sf.<n-1>,
 *    each with its own netdev sfnetN and RDMA device simsfN, so that
 *    /sys/bus/auxiliary/devices/rdma_sim.sf.N/infiniband/simsfN and
 *    /sys/bus/auxiliary/devices/rdma_sim.sf.N/net/sfnetN exist, as for a
 *    subfunction of a real NIC.
 *
 * A bound netdev that is unregistered (not merely moved to another netns)
 * takes its RDMA device with it; the unregistration runs from a work item so
 * that nothing waits on the RTNL lock.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/pci.h>
#include <linux/auxiliary_bus.h>
#include <linux/delay.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <net/addrconf.h>
#include <rdma/ib_verbs.h>
#include <rdma/ib_mad.h>

static char *netdevs = "";
module_param(netdevs, charp, 0444);
MODULE_PARM_DESC(netdevs, "comma separated netdev names that get a simulated RDMA device (simpciN)");

static unsigned int num_sf;
module_param(num_sf, uint, 0444);
MODULE_PARM_DESC(num_sf, "number of auxiliary devices rdma_sim.sf.N with a netdev and an RDMA device (simsfN)");

static unsigned int move_delay_ms;
module_param(move_delay_ms, uint, 0644);
MODULE_PARM_DESC(move_delay_ms, "milliseconds each move of a simulated device to another netns sleeps in the kernel, as a real NIC waits on firmware (writable at run time)");

#define SIM_MAX_SF 4096

struct sim_sf {
	struct auxiliary_device adev;
	struct net_device *ndev;
};

struct sim_dev {
	struct ib_device ibdev;
	struct list_head list;
	struct net_device *ndev;	/* bound netdev; NULL once it is gone */
	bool registered;		/* ib_register_device() succeeded */
	bool gone;			/* netdev unregistered before registration ended */
	struct work_struct unreg_work;
};

struct sim_ucontext {
	struct ib_ucontext ibuc;
};

static LIST_HEAD(sim_devs);
static DEFINE_MUTEX(sim_lock);		/* protects sim_devs and the flags; taken after RTNL */
static struct workqueue_struct *sim_wq;
static struct device *sim_root;
static struct sim_sf **sim_sfs;
static unsigned int sim_sf_count;

static struct sim_dev *to_sim(struct ib_device *ibdev)
{
	return container_of(ibdev, struct sim_dev, ibdev);
}

static int sim_query_device(struct ib_device *ibdev, struct ib_device_attr *attr,
			    struct ib_udata *udata)
{
	if (udata && (udata->inlen || udata->outlen))
		return -EINVAL;
	memset(attr, 0, sizeof(*attr));
	attr->fw_ver = 1;
	attr->sys_image_guid = ibdev->node_guid;
	attr->max_mr_size = ~0ULL;
	attr->page_size_cap = PAGE_SIZE;
	attr->vendor_id = 0xffffff;
	attr->max_qp = 1;
	attr->max_qp_wr = 1;
	attr->max_send_sge = 1;
	attr->max_recv_sge = 1;
	attr->max_cq = 1;
	attr->max_cqe = 1;
	attr->max_mr = 1;
	attr->max_pd = 1;
	attr->max_pkeys = 1;
	return 0;
}

static int sim_query_port(struct ib_device *ibdev, u32 port, struct ib_port_attr *attr)
{
	/* active while bound to a netdev (the pointer is only compared) */
	bool up = READ_ONCE(to_sim(ibdev)->ndev) != NULL;

	/* the core zeroes *attr before calling */
	attr->state = up ? IB_PORT_ACTIVE : IB_PORT_DOWN;
	attr->phys_state = up ? IB_PORT_PHYS_STATE_LINK_UP : IB_PORT_PHYS_STATE_DISABLED;
	attr->max_mtu = IB_MTU_4096;
	attr->active_mtu = IB_MTU_1024;
	attr->gid_tbl_len = 16;
	attr->pkey_tbl_len = 1;
	attr->port_cap_flags = IB_PORT_CM_SUP;
	attr->max_msg_sz = 1 << 30;
	attr->active_speed = IB_SPEED_EDR;
	attr->active_width = IB_WIDTH_4X;
	return 0;
}

static int sim_get_port_immutable(struct ib_device *ibdev, u32 port,
				  struct ib_port_immutable *im)
{
	im->pkey_tbl_len = 1;
	im->gid_tbl_len = 16;
	im->core_cap_flags = RDMA_CORE_PORT_IBA_ROCE_UDP_ENCAP;
	im->max_mad_size = IB_MGMT_MAD_SIZE;
	return 0;
}

static int sim_query_pkey(struct ib_device *ibdev, u32 port, u16 index, u16 *pkey)
{
	if (index > 0)
		return -EINVAL;
	*pkey = 0xffff;		/* the default partition, full member */
	return 0;
}

static enum rdma_link_layer sim_get_link_layer(struct ib_device *ibdev, u32 port)
{
	return IB_LINK_LAYER_ETHERNET;
}

static int sim_alloc_ucontext(struct ib_ucontext *uctx, struct ib_udata *udata)
{
	return 0;
}

static void sim_dealloc_ucontext(struct ib_ucontext *uctx)
{
}

/* Nothing is mapped to user space, so there is nothing to revoke. */
static void sim_disassociate_ucontext(struct ib_ucontext *uctx)
{
}

static const struct ib_device_ops sim_ops = {
	.owner = THIS_MODULE,
	.driver_id = RDMA_DRIVER_UNKNOWN,
	.uverbs_abi_ver = 1,
	.query_device = sim_query_device,
	.query_port = sim_query_port,
	.get_port_immutable = sim_get_port_immutable,
	.get_link_layer = sim_get_link_layer,
	.query_pkey = sim_query_pkey,
	.alloc_ucontext = sim_alloc_ucontext,
	.dealloc_ucontext = sim_dealloc_ucontext,
	.disassociate_ucontext = sim_disassociate_ucontext,
	INIT_RDMA_OBJ_SIZE(ib_ucontext, sim_ucontext, ibuc),
};

/*
 * The time a move takes on a real NIC. Moving a device to another netns makes the RDMA core
 * remove every client of the device (CM, uverbs, umad, ...) and add them again in the new
 * netns; on mlx5 that is firmware commands, and the caller sleeps. This client stands for
 * them: its remove callback sleeps move_delay_ms for our devices. The core calls it from
 * disable_device() outside its global locks (device->unregistration_lock is per device), so
 * moves of different devices overlap as they do on hardware; a sleep in the add path would
 * not (enable_device_and_get() holds devices_rwsem, which the next move takes for writing).
 * Unregistration goes through the same path: set the delay to 0 before removing devices.
 */
static int sim_client_add(struct ib_device *dev)
{
	return dev->ops.query_device == sim_query_device ? 0 : -EOPNOTSUPP;
}

static void sim_client_remove(struct ib_device *dev, void *client_data)
{
	unsigned int ms = READ_ONCE(move_delay_ms);

	if (ms)
		msleep(ms);
}

static struct ib_client sim_client = {
	.name = "rdma_sim_move_delay",
	.no_kverbs_req = true,	/* the devices have no kernel verbs; the core skips such clients otherwise */
	.add = sim_client_add,
	.remove = sim_client_remove,
};

/* Free a device taken off the list: unregister it if it was registered. */
static void sim_destroy(struct sim_dev *sd)
{
	if (sd->registered)
		ib_unregister_device(&sd->ibdev);
	ib_dealloc_device(&sd->ibdev);
}

static void sim_unreg_work(struct work_struct *work)
{
	struct sim_dev *sd = container_of(work, struct sim_dev, unreg_work);

	mutex_lock(&sim_lock);
	if (!sd->registered) {
		/* sim_add() is still registering it; it will see the flag */
		sd->gone = true;
		mutex_unlock(&sim_lock);
		return;
	}
	list_del(&sd->list);
	mutex_unlock(&sim_lock);
	pr_info("rdma_sim: %s: netdev gone, removing the RDMA device\n",
		dev_name(&sd->ibdev.dev));
	sim_destroy(sd);
}

static int sim_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *ndev = netdev_notifier_info_to_dev(ptr);
	struct sim_dev *sd;

	/*
	 * A move to another netns also sends NETDEV_UNREGISTER, with reg_state
	 * still NETREG_REGISTERED: the binding stays. Only a real
	 * unregistration drops the netdev reference and the device.
	 */
	if (event != NETDEV_UNREGISTER || ndev->reg_state != NETREG_UNREGISTERING)
		return NOTIFY_DONE;

	mutex_lock(&sim_lock);
	list_for_each_entry(sd, &sim_devs, list) {
		if (sd->ndev != ndev)
			continue;
		ib_device_set_netdev(&sd->ibdev, NULL, 1);
		WRITE_ONCE(sd->ndev, NULL);
		queue_work(sim_wq, &sd->unreg_work);
	}
	mutex_unlock(&sim_lock);
	return NOTIFY_DONE;
}

static struct notifier_block sim_netdev_nb = {
	.notifier_call = sim_netdev_event,
};

/*
 * Create, bind and register one RDMA device. The caller holds the RTNL lock
 * and a reference on ndev; the lock is dropped for the registration, which
 * takes it itself.
 */
static int sim_add(struct net_device *ndev, struct device *parent, const char *name)
{
	struct sim_dev *sd;
	int err;

	ASSERT_RTNL();
	sd = ib_alloc_device(sim_dev, ibdev);
	if (!sd)
		return -ENOMEM;
	INIT_WORK(&sd->unreg_work, sim_unreg_work);
	sd->ibdev.node_type = RDMA_NODE_IB_CA;
	sd->ibdev.phys_port_cnt = 1;
	sd->ibdev.num_comp_vectors = 1;
	sd->ibdev.dev.parent = parent;
	addrconf_addr_eui48((u8 *)&sd->ibdev.node_guid, ndev->dev_addr);
	strscpy(sd->ibdev.node_desc, "rdma_sim", sizeof(sd->ibdev.node_desc));
	ib_set_device_ops(&sd->ibdev, &sim_ops);

	err = ib_device_set_netdev(&sd->ibdev, ndev, 1);
	if (err) {
		ib_dealloc_device(&sd->ibdev);
		return err;
	}
	sd->ndev = ndev;
	mutex_lock(&sim_lock);
	list_add_tail(&sd->list, &sim_devs);
	mutex_unlock(&sim_lock);
	rtnl_unlock();

	err = ib_register_device(&sd->ibdev, name, NULL);

	rtnl_lock();
	mutex_lock(&sim_lock);
	if (err || sd->gone) {
		list_del(&sd->list);
		mutex_unlock(&sim_lock);
		if (!err) {
			/* the netdev went away while we registered */
			rtnl_unlock();
			ib_unregister_device(&sd->ibdev);
			rtnl_lock();
		}
		cancel_work_sync(&sd->unreg_work);
		ib_dealloc_device(&sd->ibdev);
		return err;
	}
	sd->registered = true;
	mutex_unlock(&sim_lock);
	return 0;
}

/* The PCI function under a netdev, if any (virtio-net: pci -> virtioN -> netdev). */
static struct device *sim_pci_parent(struct net_device *ndev)
{
	struct device *d;

	for (d = ndev->dev.parent; d; d = d->parent)
		if (dev_is_pci(d))
			return d;
	return ndev->dev.parent;
}

static int sim_add_netdevs(void)
{
	char *list, *p, *name;
	int err = 0;

	list = kstrdup(netdevs, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	p = list;
	while ((name = strsep(&p, ",")) != NULL) {
		struct net_device *ndev;

		name = strim(name);
		if (!*name)
			continue;
		rtnl_lock();
		ndev = __dev_get_by_name(&init_net, name);
		if (!ndev) {
			rtnl_unlock();
			pr_err("rdma_sim: no netdev %s\n", name);
			err = -ENODEV;
			break;
		}
		dev_hold(ndev);
		err = sim_add(ndev, sim_pci_parent(ndev), "simpci%d");
		dev_put(ndev);
		rtnl_unlock();
		if (err) {
			pr_err("rdma_sim: %s: cannot add RDMA device: %d\n", name, err);
			break;
		}
	}
	kfree(list);
	return err;
}

static netdev_tx_t sim_sf_xmit(struct sk_buff *skb, struct net_device *ndev)
{
	dev_core_stats_tx_dropped_inc(ndev);
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops sim_sf_netdev_ops = {
	.ndo_start_xmit = sim_sf_xmit,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

static void sim_sf_release(struct device *dev)
{
	kfree(container_of(dev, struct sim_sf, adev.dev));
}

static int sim_add_sf(unsigned int id)
{
	struct sim_sf *sf;
	struct net_device *ndev;
	char name[IFNAMSIZ];
	u8 mac[ETH_ALEN] = { 0x02, 0x52, 0x53, 0x00, (id >> 8) & 0xff, id & 0xff };
	int err;

	sf = kzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf)
		return -ENOMEM;
	sf->adev.name = "sf";
	sf->adev.id = id;
	sf->adev.dev.parent = sim_root;
	sf->adev.dev.release = sim_sf_release;
	err = auxiliary_device_init(&sf->adev);
	if (err) {
		kfree(sf);
		return err;
	}
	err = auxiliary_device_add(&sf->adev);
	if (err) {
		auxiliary_device_uninit(&sf->adev);	/* frees sf */
		return err;
	}
	sim_sfs[sim_sf_count++] = sf;

	snprintf(name, sizeof(name), "sfnet%u", id);
	ndev = alloc_netdev(0, name, NET_NAME_PREDICTABLE, ether_setup);
	if (!ndev)
		return -ENOMEM;
	ndev->netdev_ops = &sim_sf_netdev_ops;
	eth_hw_addr_set(ndev, mac);
	SET_NETDEV_DEV(ndev, &sf->adev.dev);

	rtnl_lock();
	err = register_netdevice(ndev);
	if (err) {
		rtnl_unlock();
		free_netdev(ndev);
		return err;
	}
	sf->ndev = ndev;
	snprintf(name, sizeof(name), "simsf%u", id);
	err = sim_add(ndev, &sf->adev.dev, name);
	rtnl_unlock();
	return err;
}

static void sim_cleanup(void)
{
	struct sim_dev *sd, *tmp;
	LIST_HEAD(todo);
	unsigned int i;

	unregister_netdevice_notifier(&sim_netdev_nb);
	if (sim_wq)
		flush_workqueue(sim_wq);
	mutex_lock(&sim_lock);
	list_splice_init(&sim_devs, &todo);
	mutex_unlock(&sim_lock);
	list_for_each_entry_safe(sd, tmp, &todo, list) {
		list_del(&sd->list);
		sim_destroy(sd);
	}
	for (i = sim_sf_count; i-- > 0;) {
		struct sim_sf *sf = sim_sfs[i];

		if (sf->ndev)
			unregister_netdev(sf->ndev);	/* from whatever netns it is in */
		if (sf->ndev)
			free_netdev(sf->ndev);
		auxiliary_device_delete(&sf->adev);
		auxiliary_device_uninit(&sf->adev);
	}
	sim_sf_count = 0;
	kvfree(sim_sfs);
	sim_sfs = NULL;
	if (sim_root)
		root_device_unregister(sim_root);
	sim_root = NULL;
	if (sim_wq)
		destroy_workqueue(sim_wq);
	sim_wq = NULL;
}

static int __init sim_init(void)
{
	unsigned int i;
	int err;

	if (num_sf > SIM_MAX_SF) {
		pr_err("rdma_sim: num_sf %u > %u\n", num_sf, SIM_MAX_SF);
		return -EINVAL;
	}
	sim_wq = alloc_workqueue("rdma_sim", WQ_UNBOUND, 0);
	if (!sim_wq)
		return -ENOMEM;
	err = ib_register_client(&sim_client);
	if (err) {
		destroy_workqueue(sim_wq);
		return err;
	}
	err = register_netdevice_notifier(&sim_netdev_nb);
	if (err) {
		ib_unregister_client(&sim_client);
		destroy_workqueue(sim_wq);
		return err;
	}
	sim_root = root_device_register("rdma_sim");
	if (IS_ERR(sim_root)) {
		err = PTR_ERR(sim_root);
		sim_root = NULL;
		goto fail;
	}
	sim_sfs = kvcalloc(num_sf ? num_sf : 1, sizeof(*sim_sfs), GFP_KERNEL);
	if (!sim_sfs) {
		err = -ENOMEM;
		goto fail;
	}
	err = sim_add_netdevs();
	if (err)
		goto fail;
	for (i = 0; i < num_sf; i++) {
		err = sim_add_sf(i);
		if (err) {
			pr_err("rdma_sim: sf %u: %d\n", i, err);
			goto fail;
		}
	}
	pr_info("rdma_sim: ready (netdevs=\"%s\", num_sf=%u)\n", netdevs, num_sf);
	return 0;
fail:
	sim_cleanup();
	ib_unregister_client(&sim_client);
	return err;
}

static void __exit sim_exit(void)
{
	WRITE_ONCE(move_delay_ms, 0);
	sim_cleanup();
	ib_unregister_client(&sim_client);
}

module_init(sim_init);
module_exit(sim_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Simulated RDMA devices on PCI netdevs and auxiliary devices, for netns tests");
