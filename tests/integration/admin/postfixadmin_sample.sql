-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)
-- A small PostfixAdmin database (its domain, mailbox, alias, alias_domain, vacation, admin and
-- domain_admins tables, trimmed to the columns that matter), written for the vhostmail import
-- test. Passwords: carl "md5 pass" (md5crypt), dora "sha pass" ({SHA512-CRYPT}), the domain
-- admin boss "admin pass" (md5crypt).
/*!40101 SET NAMES utf8mb4 */;

DROP TABLE IF EXISTS `domain`;
CREATE TABLE `domain` (
  `domain` varchar(255) NOT NULL,
  `description` varchar(255) CHARACTER SET utf8 NOT NULL,
  `aliases` int(10) NOT NULL DEFAULT 0,
  `mailboxes` int(10) NOT NULL DEFAULT 0,
  `maxquota` bigint(20) NOT NULL DEFAULT 0,
  `quota` bigint(20) NOT NULL DEFAULT 0,
  `transport` varchar(255) NOT NULL,
  `backupmx` tinyint(1) NOT NULL DEFAULT 0,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='Postfix Admin - Virtual Domains';
INSERT INTO `domain` VALUES ('ALL','',0,0,0,0,'',0,'2020-01-01 00:00:00','2020-01-01 00:00:00',1),('pfa.example','Carl\'s \"club\"',10,5,2048,0,'virtual',0,'2020-01-01 00:00:00','2020-01-01 00:00:00',1),('backup.example','',0,0,0,0,'',1,'2020-01-01 00:00:00','2020-01-01 00:00:00',1);

DROP TABLE IF EXISTS `mailbox`;
CREATE TABLE `mailbox` (
  `username` varchar(255) NOT NULL,
  `password` varchar(255) NOT NULL,
  `name` varchar(255) CHARACTER SET utf8 NOT NULL,
  `maildir` varchar(255) NOT NULL,
  `quota` bigint(20) NOT NULL DEFAULT 0,
  `local_part` varchar(255) NOT NULL,
  `domain` varchar(255) NOT NULL,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (`username`),
  KEY `domain` (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='Postfix Admin - Virtual Mailboxes';
INSERT INTO `mailbox` VALUES ('carl@pfa.example','$1$abcdefgh$uuYZx3j9lFDZkJ8so.M6t1','Carl Pfa','pfa.example/carl-2019/',104857600,'carl','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1),('dora@pfa.example','{SHA512-CRYPT}$6$rounds=5000$saltsaltsalt$FIkm4nows86Wa4BHt/6WqdWddX3U6/IuAYaTADrlsjPUEORAc.b/txZTGlzgCzHRrK.Ihww7q/OVtIBQ5ARQB0','Dora','../../etc/',0,'dora','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1);

DROP TABLE IF EXISTS `alias`;
CREATE TABLE `alias` (
  `address` varchar(255) NOT NULL,
  `goto` text NOT NULL,
  `domain` varchar(255) NOT NULL,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (`address`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='Postfix Admin - Virtual Aliases';
INSERT INTO `alias` VALUES ('carl@pfa.example','carl@pfa.example,carl#pfa.example@autoreply.pfa.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1),('dora@pfa.example','dora@pfa.example,dora@elsewhere.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1),('sales@pfa.example','carl@pfa.example,dora@pfa.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1),('old@pfa.example','carl@pfa.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',0),('postmaster@pfa.example','carl@pfa.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1),('@pfa.example','sales@pfa.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1);

DROP TABLE IF EXISTS `alias_domain`;
CREATE TABLE `alias_domain` (
  `alias_domain` varchar(255) NOT NULL,
  `target_domain` varchar(255) NOT NULL,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (`alias_domain`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO `alias_domain` VALUES ('pfa-alias.example','pfa.example','2020-01-01 00:00:00','2020-01-01 00:00:00',1);

DROP TABLE IF EXISTS `vacation`;
CREATE TABLE `vacation` (
  `email` varchar(255) NOT NULL,
  `subject` varchar(255) CHARACTER SET utf8 NOT NULL,
  `body` text CHARACTER SET utf8 NOT NULL,
  `activefrom` timestamp NOT NULL DEFAULT '2000-01-01 00:00:00',
  `activeuntil` timestamp NOT NULL DEFAULT '2038-01-18 00:00:00',
  `cache` text NOT NULL,
  `domain` varchar(255) NOT NULL,
  `interval_time` int(11) NOT NULL DEFAULT 0,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `modified` timestamp NOT NULL DEFAULT current_timestamp(),
  `active` tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO `vacation` VALUES ('carl@pfa.example','Away; back soon','I am away.\nWrite to \'sales\' meanwhile.\n','2026-01-01 00:00:00','2036-01-01 00:00:00','','pfa.example',0,'2020-01-01 00:00:00','2020-01-01 00:00:00',1);

DROP TABLE IF EXISTS `admin`;
CREATE TABLE `admin` (
  `username` varchar(255) NOT NULL,
  `password` varchar(255) NOT NULL,
  `superadmin` tinyint(1) NOT NULL DEFAULT 0,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (`username`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO `admin` VALUES ('boss@pfa.example','$1$zyxwvuts$y6GSeNtjEmG18AnhJCLSv1',0,'2020-01-01 00:00:00','2020-01-01 00:00:00',1),('root@admin.example','$1$qwertyui$Lb2bpz4qUtUYl77PMyW6K0',1,'2020-01-01 00:00:00','2020-01-01 00:00:00',1);

DROP TABLE IF EXISTS `domain_admins`;
CREATE TABLE `domain_admins` (
  `username` varchar(255) NOT NULL,
  `domain` varchar(255) NOT NULL,
  `created` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL DEFAULT 1,
  KEY `username` (`username`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO `domain_admins` VALUES ('boss@pfa.example','pfa.example','2020-01-01 00:00:00',1),('root@admin.example','ALL','2020-01-01 00:00:00',1);
